// 案件 list: the cases of the caller's area, newest first, keyset-paginated by case number.
import { get } from "./api.js";
import { CASE_STATUS, announceProblem, clear, divisionCell, divisionPaths, h, processes, timeEl } from "./ui.js";

const form = document.getElementById("filters");
const tbody = document.querySelector("#cases tbody");
const state = { cursors: [null], page: 0 };

function params() {
  return {
    process: form.process.value || undefined,
    status: form.status.value || undefined,
    person_id: form.person_id.value.trim() || undefined,
  };
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params())) if (v) p.set(k, v);
  history.replaceState(null, "", p.toString() ? `?${p}` : location.pathname);
}

async function load() {
  writeUrl();
  let data;
  try {
    data = await get("/cases", { ...params(), limit: 20, before: state.cursors[state.page] || undefined });
  } catch (err) {
    announceProblem(err);
    return;
  }
  const [names, processNames] = await Promise.all([
    divisionPaths(get, data.items.map((c) => c.area)).catch(() => new Map()),
    processes(get),
  ]);
  clear(tbody).append(...data.items.map((c) => h("tr", {},
    h("td", {}, h("a", { href: `/cases/${c.id}` }, `案件 ${c.id}`)),
    h("td", {}, processNames.get(c.process) || c.process),
    h("td", {}, h("div", {}, c.person_name || "（未登记姓名）"), h("div", { class: "sub mono" }, c.person_id || "")),
    h("td", {}, divisionCell(c.area, names)),
    h("td", {}, CASE_STATUS[c.status] || c.status, c.status_detail && h("div", { class: "sub" }, c.status_detail)),
    h("td", {}, timeEl(c.updated_at)))));
  document.getElementById("empty").hidden = data.items.length > 0;
  state.cursors.length = state.page + 1;
  if (data.next) state.cursors.push(data.next);
  document.getElementById("next").disabled = !data.next;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("page-no").textContent = `第 ${state.page + 1} 页`;
}

async function init() {
  const names = await processes(get);
  for (const [key, name] of names) form.process.append(h("option", { value: key }, name));
  const p = new URLSearchParams(location.search);
  form.process.value = p.get("process") || "";
  form.status.value = p.get("status") || "";
  form.person_id.value = p.get("person_id") || "";
  const restart = () => { state.cursors = [null]; state.page = 0; load(); };
  form.addEventListener("submit", (e) => { e.preventDefault(); restart(); });
  form.addEventListener("reset", () => setTimeout(restart));
  for (const select of [form.process, form.status]) select.addEventListener("change", restart);
  document.getElementById("next").addEventListener("click", () => { state.page += 1; load(); });
  document.getElementById("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); load(); });
  await load();
}

init();
