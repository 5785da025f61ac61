// 审计: search the audit log, a person's access log, and verification of the hash chains.
import { get, post } from "./api.js";
import { ACTIONS, PURPOSES, describe } from "./events.js";
import { ROLE_NAMES, announce, announceProblem, can, clear, h, timeEl } from "./ui.js";

const form = document.getElementById("filters");
const tbody = document.querySelector("#events tbody");
const state = { cursors: [null], page: 0 };

// A datetime-local value is Beijing time; the API wants an aware timestamp.
const aware = (value) => (value ? `${value}:00+08:00` : undefined);

function params() {
  const f = new FormData(form);
  const text = (k) => String(f.get(k) || "").trim() || undefined;
  return {
    case_id: text("case_id"), person_id: text("person_id"), actor: text("actor"), action: text("action"),
    since: aware(text("since")), until: aware(text("until")), area: text("area"),
  };
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(Object.fromEntries(new FormData(form)))) if (String(v).trim()) p.set(k, String(v).trim());
  history.replaceState(null, "", p.toString() ? `?${p}` : location.pathname);
}

function caseLinks(caseId) {
  const box = clear(document.getElementById("case-links"));
  if (!caseId) return;
  box.append(h("a", { href: `/cases/${caseId}`, class: "button" }, `打开案件 ${caseId}（流程图与经办过程）`));
  if (can("audit.export")) {
    box.append(h("a", { href: `/api/v1/audit/cases/${caseId}/export`, download: "", class: "button" }, "导出签名的经办记录（JSON）"));
  }
}

// What an event is about, in words: "人员 张三", "案件 1", "材料 3", "任务 基层平台初审".
const OBJECTS = { person: "人员", case: "案件", task: "任务", document: "材料", definition: "流程", team: "调查小组", user: "用户" };
function objectText(e) {
  const kind = OBJECTS[e.object_type] || "";
  if (e.object_type === "person") return `${kind} ${e.person_name || ""}`.trim();
  if (e.object_type === "task") return `${kind} ${e.payload?.name || ""}`.trim();
  if (e.object_type === "case" && e.case_id) return `${kind} ${e.case_id}`;
  return kind ? `${kind} ${e.object_id || ""}`.trim() : e.object_id || "";
}

async function load() {
  writeUrl();
  const query = params();
  caseLinks(query.case_id);
  let data;
  try {
    data = await get("/audit/events", { ...query, limit: 50, before: state.cursors[state.page] || undefined });
  } catch (err) {
    announceProblem(err);
    return;
  }
  clear(tbody).append(...data.items.map((e) => h("tr", { dataset: { action: e.action } },
    h("td", { class: "mono" }, String(e.id)),
    h("td", {}, timeEl(e.at)),
    h("td", {}, e.actor, h("div", { class: "sub" }, ROLE_NAMES[e.role] || e.role || "")),
    h("td", {}, ACTIONS[e.action] || e.action, h("div", { class: "sub mono" }, e.action)),
    h("td", {}, objectText(e)),
    h("td", {}, e.case_id ? [h("a", { href: `/cases/${e.case_id}` }, `案件 ${e.case_id}`),
      h("div", { class: "sub" }, [e.case_process, e.person_name].filter(Boolean).join(" · "))] : ""),
    h("td", {}, e.person_name || "", e.person_id && h("div", { class: "sub mono" }, e.person_id)),
    h("td", {}, describe(e)))));
  document.getElementById("events-empty").hidden = data.items.length > 0;
  state.cursors.length = state.page + 1;
  if (data.next) state.cursors.push(data.next);
  document.getElementById("next").disabled = !data.next;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("page-no").textContent = `第 ${state.page + 1} 页`;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The verification runs as a job on the server (it can take minutes on a large log): start it, then
// poll it for progress until it reports.
async function verify() {
  const button = document.getElementById("verify");
  const box = clear(document.getElementById("verify-result"));
  const progress = h("p", {}, "正在校验……");
  button.disabled = true;
  box.append(progress);
  let job;
  try {
    job = await post("/audit/verifications");
    while (job.status === "running") {
      if (job.total) progress.textContent = `正在校验……已核对 ${job.done} / ${job.total} 条事件`;
      await pause(500);
      job = await get(`/audit/verifications/${job.id}`);
    }
  } catch (err) {
    clear(box);
    announceProblem(err);
    return;
  } finally {
    button.disabled = false;
  }
  if (job.status !== "done") {
    clear(box).append(h("p", { class: "verdict bad" }, `校验未能完成：${job.error || "原因不明"}`));
    announce("审计日志校验未能完成", "error");
    return;
  }
  const report = job.report;
  const newest = report.newest_anchor ? `最新的锚点 ${report.newest_anchor}` : "尚无锚点";
  clear(box).append(...[
    h("p", { class: report.ok ? "verdict ok" : "verdict bad" },
      report.ok ? `审计日志完整：${report.events} 条事件、${report.chains.length} 条哈希链均校验通过` : "审计日志被改动！"),
    h("p", { class: "sub" }, `用时 ${report.seconds} 秒；核对归档锚点 ${report.anchors} 个。`),
    h("p", { class: "sub", id: "unanchored" },
      `尚未被归档锚点覆盖的事件 ${report.unanchored_events} 条（${newest}；有新事件时每分钟写入一个锚点）。`),
    report.breaks.length ? h("ul", {}, report.breaks.map((b) => h("li", {},
      `第 ${b.chain} 条链，序号 ${b.seq}${b.event_id ? `（事件号 ${b.event_id}）` : ""}：${b.title}。${b.detail}`))) : null,
    report.anchor_problems.length ? h("ul", {}, report.anchor_problems.map((p) => h("li", {}, p))) : null,
  ].filter(Boolean));
  announce(report.ok ? "审计日志校验通过" : "审计日志校验发现问题", report.ok ? "ok" : "error");
}

async function accessLog(event) {
  event.preventDefault();
  const input = event.target.elements.namedItem("id_number");
  const error = document.getElementById("access-error");
  error.hidden = true;
  input.removeAttribute("aria-invalid");
  let data;
  try {
    data = await get(`/persons/${encodeURIComponent(input.value.trim())}/access-log`, { limit: 100 });
  } catch (err) {
    error.textContent = err.errors?.[0]?.message || err.detail || err.title;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  document.getElementById("access-wrap").hidden = false;
  clear(document.querySelector("#access tbody")).append(...(data.items.length ? data.items.map((e) => h("tr", {},
    h("td", {}, timeEl(e.at)), h("td", {}, e.actor), h("td", {}, ROLE_NAMES[e.role] || e.role || ""),
    h("td", {}, ACTIONS[e.action] || "查阅"), h("td", {}, PURPOSES[e.purpose] || e.purpose || ""),
    h("td", {}, e.case_id ? h("a", { href: `/cases/${e.case_id}` }, `案件 ${e.case_id}`) : ""),
    h("td", { class: "mono" }, e.client_addr || ""))) : [h("tr", {}, h("td", { colspan: "7" }, "没有访问记录。"))]));
}

function init() {
  const p = new URLSearchParams(location.search);
  for (const el of form.elements) if (el.name && p.has(el.name)) el.value = p.get(el.name);
  const restart = () => { state.cursors = [null]; state.page = 0; load(); };
  form.addEventListener("submit", (e) => { e.preventDefault(); restart(); });
  form.addEventListener("reset", () => setTimeout(restart));
  document.getElementById("next").addEventListener("click", () => { state.page += 1; load(); });
  document.getElementById("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); load(); });
  document.getElementById("verify")?.addEventListener("click", verify);
  document.getElementById("access-form")?.addEventListener("submit", accessLog);
  load();
}

init();
