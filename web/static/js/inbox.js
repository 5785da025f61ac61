// 待办: the caller's tasks with the API's filters, sort, counts and keyset pagination.
import { Problem, get, post } from "./api.js";
import {
  ME, announce, announceProblem, can, clear, divisionCell, divisionPaths, h, processes, showFlash, timeEl,
} from "./ui.js";

const form = document.getElementById("filters");
const roleSelect = form.elements.namedItem("role");
const tbody = document.querySelector("#tasks tbody");
const selectAll = document.getElementById("select-all");
const bulk = document.getElementById("bulk-claim");
const dialog = document.getElementById("assign-dialog");

const state = { status: "", overdue: false, cursors: [null], page: 0, rows: [] };

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.status = ["open", "mine", "others", "done"].includes(p.get("status")) ? p.get("status") : "";
  state.overdue = p.get("overdue") === "true";
  if (roleSelect) roleSelect.value = [...roleSelect.options].some((o) => o.value === p.get("role")) ? p.get("role") : "";
  form.process.value = p.get("process") || "";
  form.q.value = p.get("q") || "";
  form.sort.value = p.get("sort") === "age" ? "age" : "due";
  form.limit.value = ["20", "50", "100"].includes(p.get("limit")) ? p.get("limit") : "20";
  state.cursors = [p.get("after") || null];
  state.page = 0;
}

function params() {
  return {
    role: roleSelect?.value || undefined,
    status: state.status || undefined,
    overdue: state.overdue ? "true" : undefined,
    process: form.process.value || undefined,
    q: form.q.value.trim() || undefined,
    sort: form.sort.value,
    limit: form.limit.value,
  };
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params())) if (v !== undefined && !(k === "sort" && v === "due") && !(k === "limit" && v === "20")) p.set(k, v);
  const after = state.cursors[state.page];
  if (after) p.set("after", after);
  const qs = p.toString();
  history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
}

function renderTabs(counts) {
  for (const button of form.querySelectorAll("[data-status]")) {
    button.setAttribute("aria-pressed", String(button.dataset.status === state.status));
  }
  form.querySelector("[data-overdue]").setAttribute("aria-pressed", String(state.overdue));
  for (const span of form.querySelectorAll("[data-count]")) span.textContent = counts?.[span.dataset.count] ?? "–";
}

const claimable = (t) => !t.assignee && ME.roles.includes(t.role);
const releasable = (t) => t.assignee && (t.assignee === ME.sub || can("tasks.assign"));

// 已办: a task the user completed, linking to its case (the task itself is closed).
function doneRow(t, names, processNames) {
  return h("tr", { dataset: { taskId: t.id } },
    h("td", {}),
    h("td", {},
      h("a", { href: `/cases/${t.case_id}` }, t.title),
      h("div", { class: "sub" }, `案件 ${t.case_id} · ${processNames.get(t.process) || t.process}`)),
    h("td", {}, h("div", {}, t.person_name || "（未登记姓名）"), h("div", { class: "sub mono" }, t.person_id || "")),
    h("td", {}, divisionCell(t.area, names)),
    h("td", {}, "我"),
    h("td", {}, "办结 ", timeEl(t.completed_at)),
    h("td", {}, h("a", { href: `/cases/${t.case_id}`, class: "button" }, "查看案件")),
  );
}

function row(t, names, processNames) {
  const label = t.person_name || "（未登记姓名）";
  const check = h("input", {
    type: "checkbox", class: "pick", value: t.id, disabled: !claimable(t),
    "aria-label": `选择：${t.title}，${label}`,
  });
  check.addEventListener("change", updateBulk);
  const actions = h("div", { class: "row-actions" },
    h("a", { href: `/tasks/${encodeURIComponent(t.id)}`, class: "button" }, "办理"),
    claimable(t) && h("button", { type: "button", onclick: () => claim(t) }, "认领"),
    releasable(t) && h("button", { type: "button", onclick: () => unclaim(t) }, "退回任务池"),
    can("tasks.assign") && h("button", { type: "button", onclick: () => openAssign(t) }, "分派"),
  );
  return h("tr", { class: t.overdue ? "overdue" : undefined, dataset: { taskId: t.id } },
    h("td", {}, check),
    h("td", {},
      h("a", { href: `/tasks/${encodeURIComponent(t.id)}` }, t.title),
      t.returned_by && h("span", { class: "badge badge-warn", title: `${t.returned_by} 退回` }, "退回补正"),
      h("div", { class: "sub" }, `案件 ${t.case_id} · ${processNames.get(t.process) || t.process}`)),
    h("td", {}, h("div", {}, label), h("div", { class: "sub mono" }, t.person_id || "")),
    h("td", {}, divisionCell(t.area, names)),
    h("td", {}, t.assignee ? (t.assignee === ME.sub ? `${t.assignee}（我）` : t.assignee) : h("span", { class: "muted" }, "待认领")),
    h("td", {}, timeEl(t.due_at), t.overdue && h("span", { class: "badge badge-warn" }, "已超期")),
    h("td", {}, actions),
  );
}

// Filters can change while a list is still loading; only the newest load may render, or a slow
// answer to an earlier filter would replace the rows of the current one.
let generation = 0;

async function load() {
  const ticket = ++generation;
  writeUrl();
  tbody.setAttribute("aria-busy", "true");
  let data;
  let counts;
  const filters = {
    role: roleSelect?.value || undefined, process: form.process.value || undefined, q: form.q.value.trim() || undefined,
  };
  try {
    const after = state.cursors[state.page] || undefined;
    [data, counts] = await Promise.all([
      state.status === "done"
        ? get("/tasks/done", { limit: form.limit.value, after })
        : get("/tasks", { ...params(), after }),
      get("/tasks/counts", filters),
    ]);
  } catch (err) {
    if (ticket !== generation) return;
    tbody.removeAttribute("aria-busy");
    if (err instanceof Problem) announceProblem(err);
    return;
  }
  const [names, processNames] = await Promise.all([
    divisionPaths(get, data.items.map((t) => t.area)).catch(() => new Map()),
    processes(get),
  ]);
  if (ticket !== generation) return;
  state.rows = data.items;
  clear(tbody).append(...data.items.map((t) => (state.status === "done" ? doneRow : row)(t, names, processNames)));
  tbody.removeAttribute("aria-busy");
  document.getElementById("empty").hidden = data.items.length > 0;
  renderTabs(counts);
  state.cursors.length = state.page + 1;
  if (data.next) state.cursors.push(data.next);
  document.getElementById("next").disabled = !data.next;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("page-no").textContent = `第 ${state.page + 1} 页`;
  selectAll.checked = false;
  updateBulk();
}

function selected() {
  return [...tbody.querySelectorAll("input.pick:checked")].map((c) => c.value);
}

function updateBulk() {
  const n = selected().length;
  document.getElementById("selected-count").textContent = n;
  bulk.disabled = n === 0;
}

async function claim(t) {
  try {
    await post(`/tasks/${encodeURIComponent(t.id)}/claim`);
    announce(`已认领：${t.title}（${t.person_name || t.person_id || `案件 ${t.case_id}`}）`, "ok");
  } catch (err) {
    announceProblem(err);
  }
  await load();
}

async function unclaim(t) {
  try {
    await post(`/tasks/${encodeURIComponent(t.id)}/unclaim`);
    announce(`已退回任务池：${t.title}`, "ok");
  } catch (err) {
    announceProblem(err);
  }
  await load();
}

async function bulkClaim() {
  const ids = selected();
  const failed = [];
  for (const id of ids) {
    try {
      await post(`/tasks/${encodeURIComponent(id)}/claim`);
    } catch (err) {
      const t = state.rows.find((r) => r.id === id);
      failed.push(`${t?.person_name || t?.title || id}：${err.detail || err.title}`);
    }
  }
  const ok = ids.length - failed.length;
  announce(failed.length ? `已认领 ${ok} 项，${failed.length} 项未能认领（${failed.join("；")}）` : `已认领 ${ok} 项`,
    failed.length ? "error" : "ok");
  await load();
}

let assigning = null;
function openAssign(t) {
  assigning = t;
  document.getElementById("assign-task").textContent = `${t.title} · ${t.person_name || t.person_id || `案件 ${t.case_id}`}`;
  const input = document.getElementById("assignee");
  input.value = "";
  input.removeAttribute("aria-invalid");
  document.getElementById("assignee-error").hidden = true;
  dialog.showModal();
  input.focus();
}

async function submitAssign(event) {
  event.preventDefault();
  const input = document.getElementById("assignee");
  const error = document.getElementById("assignee-error");
  try {
    await post(`/tasks/${encodeURIComponent(assigning.id)}/assign`, { assignee: input.value.trim() });
  } catch (err) {
    const field = err.errors?.find((e) => e.pointer === "/assignee");
    error.textContent = field ? field.message : err.detail || err.title;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  dialog.close();
  announce(`已分派给 ${input.value.trim()}：${assigning.title}`, "ok");
  await load();
}

// Saved filters live in this browser, per user: they are a view of the page and hold no personal data
// (the search text is left out), so they need no server table, audit or masking.
const SAVED = `canbao.inbox.filters.${ME.sub}`;
const savedSelect = document.getElementById("saved-filter");
const dropSaved = document.getElementById("drop-filter");

function savedFilters() {
  try {
    const list = JSON.parse(localStorage.getItem(SAVED) || "[]");
    return Array.isArray(list) ? list.filter((f) => typeof f?.name === "string" && typeof f?.query === "string") : [];
  } catch {
    return [];
  }
}

function renderSaved(selected = "") {
  clear(savedSelect).append(h("option", { value: "" }, "（选择已保存的筛选）"),
    ...savedFilters().map((f) => h("option", { value: f.name }, f.name)));
  savedSelect.value = selected;
  dropSaved.disabled = !selected;
}

function saveFilter() {
  const input = document.getElementById("filter-name");
  const name = input.value.trim();
  if (!name) {
    announce("请先填写筛选的名称", "error");
    input.focus();
    return;
  }
  const p = new URLSearchParams(location.search);
  p.delete("q");
  p.delete("after");
  const list = savedFilters().filter((f) => f.name !== name);
  list.push({ name, query: p.toString() });
  localStorage.setItem(SAVED, JSON.stringify(list));
  input.value = "";
  renderSaved(name);
  announce(`已保存筛选：${name}`, "ok");
}

function applySaved() {
  const found = savedFilters().find((f) => f.name === savedSelect.value);
  dropSaved.disabled = !found;
  if (!found) return;
  history.replaceState(null, "", found.query ? `?${found.query}` : location.pathname);
  readUrl();
  load();
}

function dropFilter() {
  const name = savedSelect.value;
  localStorage.setItem(SAVED, JSON.stringify(savedFilters().filter((f) => f.name !== name)));
  renderSaved();
  announce(`已删除筛选：${name}`, "ok");
  savedSelect.focus();
}

async function init() {
  showFlash();
  renderSaved();
  savedSelect.addEventListener("change", applySaved);
  document.getElementById("save-filter").addEventListener("click", saveFilter);
  document.getElementById("filter-name").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // Enter in the name saves the filter rather than submitting the search
    saveFilter();
  });
  dropSaved.addEventListener("click", dropFilter);
  const names = await processes(get);
  for (const [key, name] of names) form.process.append(h("option", { value: key }, name));
  readUrl();
  form.addEventListener("submit", (e) => { e.preventDefault(); state.cursors = [null]; state.page = 0; load(); });
  form.addEventListener("reset", () => setTimeout(() => { state.status = ""; state.overdue = false; state.cursors = [null]; state.page = 0; load(); }));
  for (const button of form.querySelectorAll("[data-status]")) {
    button.addEventListener("click", () => { state.status = button.dataset.status; state.cursors = [null]; state.page = 0; load(); });
  }
  form.querySelector("[data-overdue]").addEventListener("click", () => {
    state.overdue = !state.overdue; state.cursors = [null]; state.page = 0; load();
  });
  for (const select of [roleSelect, form.process, form.sort, form.limit].filter(Boolean)) {
    select.addEventListener("change", () => { state.cursors = [null]; state.page = 0; load(); });
  }
  document.getElementById("next").addEventListener("click", () => { state.page += 1; load(); });
  document.getElementById("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); load(); });
  selectAll.addEventListener("change", () => {
    for (const c of tbody.querySelectorAll("input.pick:not(:disabled)")) c.checked = selectAll.checked;
    updateBulk();
  });
  bulk.addEventListener("click", bulkClaim);
  document.getElementById("assign-form").addEventListener("submit", submitAssign);
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  await load();
}

init();
