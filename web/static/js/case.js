// 案件: summary, the diagram with the path taken, the form data, and the history timeline.
import { get } from "./api.js";
import { showDiagram } from "./diagram.js";
import { documents } from "./documents.js";
import { ACTIONS, describe } from "./events.js";
import { divisionCodes, fieldAt, namedChanges, readOnly, titleAt, valueAt } from "./form.js";
import {
  CASE_STATUS, ME, ROLE_NAMES, announceProblem, can, clear, divisionPaths, h, processes, timeEl,
} from "./ui.js";

const caseId = document.getElementById("main").dataset.caseId;
function summary(c, names, processNames, version) {
  const dl = clear(document.getElementById("summary"));
  const row = (label, ...value) => dl.append(h("div", {}, h("dt", {}, label), h("dd", {}, value)));
  row("流程", `${processNames.get(c.process) || c.process}（版本 ${version ?? "?"}）`);
  row("状态", CASE_STATUS[c.status] || c.status, c.status_detail && `：${c.status_detail}`);
  if (c.outcome) row("结果", c.outcome);
  const person = c.data?.registration || {};
  row("人员", c.person_name || person.name || "（未登记姓名）", c.person_id && h("span", { class: "mono" }, ` ${c.person_id}`));
  if (person.birth_date) row("出生日期", person.birth_date);
  if (person.phone) row("联系电话", h("span", { class: "mono" }, person.phone));
  if (person.hukou?.division) row("户口所在地", names.get(person.hukou.division) || person.hukou.division);
  row("区划", names.get(c.area) || c.area);
  row("发起", c.created_by, "，", timeEl(c.created_at));
  row("最近更新", timeEl(c.updated_at));
  if (c.completed_at) row("办结时间", timeEl(c.completed_at));

  const open = c.tasks.filter((t) => t.state === "ready");
  const box = clear(document.getElementById("open-tasks"));
  if (!open.length) return;
  box.append(h("h3", {}, "当前待办"), h("ul", {}, open.map((t) => h("li", {},
    can("tasks.work") && ME.roles.includes(t.role)
      ? h("a", { href: `/tasks/${encodeURIComponent(t.id)}` }, t.title)
      : h("span", {}, t.title),
    `（${ROLE_NAMES[t.role] || t.role}，${t.assignee ? `办理人 ${t.assignee}` : "待认领"}，到期 `, timeEl(t.due_at), "）",
    t.overdue && h("span", { class: "badge badge-warn" }, "已超期")))));
}

let registrationSchema = null;
let context = {};

// Names for what history events refer to by id: BPMN elements (from the case's diagram), tasks, fields
// and their code values (from the 登记表's schema), document kinds.
function namesFrom(xml, c, places) {
  const elements = new Map();
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  for (const el of doc.querySelectorAll("[id][name]")) elements.set(el.getAttribute("id"), el.getAttribute("name"));
  const tasks = new Map(c.tasks.map((t) => [t.id, t.title]));
  return {
    element: (id) => elements.get(id) || null,
    task: (guid) => tasks.get(guid) || null,
    field: (pointer) => titleAt(registrationSchema, pointer),
    value: (pointer, v) => (places.get(v) && isDivision(pointer) ? `${places.get(v)}（${v}）` : valueAt(registrationSchema, pointer, v)),
    kinds: JSON.parse(document.getElementById("main").dataset.kinds || "{}"),
  };
}

const isDivision = (pointer) => Boolean(fieldAt(registrationSchema, pointer)?.["x-division"]);

// The division codes that field changes in the history name (户口所在地区划 …), to show them by name.
function changedPlaces(history) {
  return history.filter((e) => e.action === "registry.field_change" && isDivision(e.payload?.field))
    .flatMap((e) => [e.payload.old, e.payload.new]).filter(Boolean);
}

function timeline(events) {
  const list = clear(document.getElementById("history"));
  const reads = document.getElementById("show-reads").checked;
  const shown = events.filter((e) => reads || e.action !== "person.read");
  list.append(...shown.map((e) => h("li", { dataset: { action: e.action } },
    timeEl(e.at), " ",
    h("span", { class: "actor" }, `${e.actor}${e.role ? `（${ROLE_NAMES[e.role] || e.role}）` : ""}`), " ",
    h("strong", {}, ACTIONS[e.action] || (e.title !== e.action && e.title) || "其他操作"), " ",
    h("span", {}, describe(e, context)),
    e.warning && h("p", { class: "field-error" }, e.warning))));
}

async function formData(c) {
  const box = clear(document.getElementById("case-data"));
  const forms = await get("/forms");
  const keys = forms.map((f) => f.key).filter((k) => k !== "review_decision" && c.data?.[k]);
  if (!keys.length) {
    box.append(h("p", { class: "muted" }, "尚无表单数据。"));
    return;
  }
  for (const key of keys) {
    const schema = await get(`/forms/${encodeURIComponent(key)}`);
    const names = await divisionPaths(get, divisionCodes(schema, c.data[key])).catch(() => new Map());
    const value = key === "change_request" ? namedChanges(c.data[key], registrationSchema) : c.data[key];
    box.append(h("h3", {}, schema.title || key), readOnly(schema, value, names));
  }
}

async function init() {
  let c;
  try {
    c = await get(`/cases/${caseId}`);
  } catch (err) {
    document.getElementById("case-title").textContent = err.status === 404 ? "案件不存在或不在您的辖区" : "无法打开案件";
    announceProblem(err);
    return;
  }
  const [history, diagram, names, processNames] = await Promise.all([
    get(`/cases/${caseId}/history`),
    get(`/cases/${caseId}/diagram`),
    divisionPaths(get, [c.area, c.data?.registration?.hukou?.division]).catch(() => new Map()),
    processes(get),
  ]);
  const title = `案件 ${c.id} · ${c.person_name || c.person_id || processNames.get(c.process) || c.process}`;
  document.getElementById("case-title").textContent = title;
  summary(c, names, processNames, diagram.version);
  registrationSchema = await get("/forms/registration");
  const places = await divisionPaths(get, changedPlaces(history)).catch(() => new Map());
  context = namesFrom(diagram.xml, c, places);
  timeline(history);
  document.getElementById("show-reads").addEventListener("change", () => timeline(history));
  await formData(c);
  const docs = document.getElementById("documents");
  if (docs) await documents(docs, c.id);
  try {
    const shown = await showDiagram(document.getElementById("diagram"), diagram, history);
    document.getElementById("diagram-text").textContent =
      `已办环节：${shown.completed.join("、") || "无"}。当前环节：${shown.active.join("、") || "无"}。`;
  } catch (err) {
    document.getElementById("diagram-text").textContent = `流程图无法显示：${err.message}`;
  }
}

init();
