// 我的参保登记 (第十四、二十三条): a citizen's own record and where each part came from, a reminder of
// what is missing or inaccurate (here and before printing the 参保证明), a correction request with
// evidence (a self_service_update case: start, upload, submit), and the requests' status with the
// agency's reasons. Everything comes from GET /api/v1/me/registration, which reads the token's person.
import { Problem, api, get, post } from "./api.js";
import { divisionCodes, editForm, readOnly, titleAt } from "./form.js";
import { announce, announceProblem, clear, divisionPaths, h, itemBadge, time } from "./ui.js";

const PROCESS = "self_service_update";
// What a citizen may correct themselves; identity numbers go through the counter (id_correction).
const CORRECTABLE = [
  "/phone", "/residence/division", "/residence/address", "/employment/status", "/employment/employer",
  "/uninsured_reason/code", "/uninsured_reason/text", "/ethnicity", "/hukou/nature", "/hukou/address",
  "/name", "/sex", "/birth_date",
];
const KINDS = JSON.parse(document.getElementById("main").dataset.kinds || "{}");

let own; // GET /me/registration
let schema; // the 登记表 schema
let names = new Map();
let editing = null; // {case_id, task_id, evidence: [ids]} of a request being (re)submitted
let rows = [];

const at = (value, pointer) => pointer.split("/").slice(1).reduce((v, k) => (v == null ? undefined : v[k]), value);

function schemaAt(pointer) {
  let s = schema;
  for (const key of pointer.split("/").slice(1)) s = s?.properties?.[key] ?? s?.items;
  return s || { type: "string" };
}

function shown(pointer, value) {
  if (value === undefined || value === null || value === "") return "（空）";
  const s = schemaAt(pointer);
  if (Array.isArray(s.oneOf)) return s.oneOf.find((o) => o.const === value)?.title || String(value);
  if (s["x-division"]) return names.get(value) ? `${names.get(value)}（${value}）` : String(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// ---------------------------------------------------------------------------------------------------
// Reminder, record, sources

function reminder() {
  const box = clear(document.getElementById("reminder"));
  box.hidden = !own.items.length;
  if (!own.items.length) return;
  box.className = "popup popup-warn";
  box.append(h("h2", {}, `提醒：您的登记信息有 ${own.items.length} 项缺失或不准，请及时更正`),
    h("ul", { class: "items-list" }, own.items.map((item) => {
      const fixable = CORRECTABLE.includes(item.pointer);
      return h("li", { dataset: { pointer: item.pointer } },
        itemBadge(item),
        " ", item.message, " ",
        fixable
          ? h("button", { type: "button", class: "small", onclick: () => fix(item.pointer) }, `更正“${titleAt(schema, item.pointer)}”`)
          : h("span", { class: "sub" }, "（请携带有关材料到社区或经办窗口办理）"));
    })));
}

// The record without empty values, so that the view shows only what is registered.
function pruned(value) {
  if (Array.isArray(value)) return value.length ? value.map(pruned) : undefined;
  if (value && typeof value === "object") {
    const kept = Object.entries(value).map(([k, v]) => [k, pruned(v)]).filter(([, v]) => v !== undefined);
    return kept.length ? Object.fromEntries(kept) : undefined;
  }
  return value === null || value === "" ? undefined : value;
}

function record() {
  clear(document.getElementById("record-body")).append(
    h("p", { class: "sub" }, own.record.registered_at ? `全民参保登记时间：${time(own.record.registered_at)}` : "尚未完成全民参保登记"),
    readOnly(schema, pruned(own.record), names));
}

function sources() {
  const scheme = schema.properties.insurance.items.properties.scheme;
  const schemeName = (code) => scheme.oneOf.find((o) => o.const === code)?.title || code;
  clear(document.getElementById("sources-body")).append(
    h("dl", { class: "sources" }, own.sources.map((s) => h("div", { dataset: { group: s.group } },
      h("dt", {}, s.label), h("dd", {}, s.text, s.confirmed_at ? h("span", { class: "sub" }, `（${time(s.confirmed_at)}）`) : null)))),
    own.record.insurance.length
      ? h("dl", { class: "sources" }, own.record.insurance.map((e) => h("div", {},
        h("dt", {}, schemeName(e.scheme)),
        h("dd", {}, e.source === "registration" ? "登记表（本人自报）" : `${e.source}（社会保险业务系统）`))))
      : h("p", { class: "muted" }, "登记库中没有您的参保记录。"));
}

// ---------------------------------------------------------------------------------------------------
// Printing the 参保证明: the reminder comes first when something is missing or inaccurate

function setupPrint() {
  const dialog = document.getElementById("print-dialog");
  document.getElementById("print").addEventListener("click", () => {
    if (!own?.items.length) {
      document.getElementById("print-link").click();
      return;
    }
    clear(document.getElementById("print-items")).append(
      h("p", {}, `您的登记信息有 ${own.items.length} 项缺失或不准，参保证明上将列出这些项目。建议先申请更正：`),
      h("ul", {}, own.items.map((i) => h("li", {}, i.message))));
    dialog.showModal();
  });
  document.getElementById("print-link").addEventListener("click", () => dialog.open && dialog.close());
  document.getElementById("print-close").addEventListener("click", () => dialog.close());
  document.getElementById("print-fix").addEventListener("click", () => {
    dialog.close();
    const first = own.items.find((i) => CORRECTABLE.includes(i.pointer));
    if (first) fix(first.pointer);
    else document.getElementById("correction").focus();
  });
}

// ---------------------------------------------------------------------------------------------------
// The correction form

function changeRow(index, pointer = "", value) {
  const id = `change-${index}`;
  const field = h("select", { id, "aria-describedby": `${id}-error` }, h("option", { value: "" }, "请选择要更正的项目"),
    CORRECTABLE.map((p) => h("option", { value: p }, titleAt(schema, p))));
  const current = h("p", { class: "sub", id: `${id}-current` });
  const slot = h("div", { class: "change-new" });
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const remove = h("button", { type: "button", class: "remove" }, "删除此项");
  const element = h("fieldset", { class: "group change-row", dataset: { index: String(index) } },
    h("legend", {}, `更正项目 ${index + 1}`), h("div", { class: "field" }, h("label", { for: id }, "项目"), field), current, slot, error, remove);
  let view = null;
  const build = (initial) => {
    clear(slot);
    view = null;
    if (!field.value) {
      current.textContent = "";
      return;
    }
    const p = field.value;
    current.textContent = `现登记为：${shown(p, at(own.record, p))}`;
    const s = { ...schemaAt(p), title: "更正为" };
    view = editForm({ type: "object", properties: { value: s } }, { value: initial ?? at(own.record, p) });
    slot.append(view.element);
  };
  field.addEventListener("change", () => build());
  field.value = pointer;
  build(value);
  const row = {
    element,
    focus: () => (view ? view.nodes.get("/value").focus() : field.focus()),
    get: () => field.value && { field: field.value, old: at(own.record, field.value) ?? null, new: view?.collect().value ?? null },
    error: (message) => {
      error.textContent = message;
      error.hidden = !message;
      if (message) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    },
  };
  remove.addEventListener("click", () => {
    rows = rows.filter((r) => r !== row);
    element.remove();
    (rows.at(-1)?.element.querySelector("select") || document.getElementById("add-change")).focus();
  });
  return row;
}

function addRow(pointer, value) {
  const row = changeRow(rows.length, pointer, value);
  rows.push(row);
  document.getElementById("change-rows").append(row.element);
  return row;
}

function fix(pointer) {
  const existing = rows.find((r) => r.get()?.field === pointer);
  const empty = rows.find((r) => !r.get());
  let row = existing;
  if (!row && empty) {
    empty.element.querySelector("select").value = pointer;
    empty.element.querySelector("select").dispatchEvent(new Event("change"));
    row = empty;
  }
  row ||= addRow(pointer);
  row.element.scrollIntoView({ block: "center" });
  row.focus();
}

function correctionForm(returned) {
  rows = [];
  const reason = h("textarea", { id: "reason", rows: "3", maxlength: "500", "aria-describedby": "reason-error" });
  const reasonError = h("p", { class: "field-error", id: "reason-error", hidden: true });
  const kind = h("select", { id: "evidence-kind" }, Object.entries(KINDS).map(([code, title]) => h("option", { value: code }, title)));
  const file = h("input", { id: "evidence-file", type: "file", multiple: true, accept: "application/pdf,image/jpeg,image/png,image/tiff", "aria-describedby": "evidence-hint evidence-error" });
  const fileError = h("p", { class: "field-error", id: "evidence-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, returned ? "补正后重新提交" : "提交更正申请");
  const add = h("button", { type: "button", id: "add-change" }, "再添加一项");
  add.addEventListener("click", () => addRow().focus());
  const form = h("form", { novalidate: true, class: "task-form correction-form", "aria-labelledby": "correction-title" },
    returned && h("p", { class: "returns" }, `经办机构退回（案件 ${returned.case_id}）：${returned.agency_reason || ""}`),
    h("div", { id: "change-rows", class: "items" }), add,
    h("div", { class: "field" }, h("label", { for: "reason" }, "更正原因 ", h("span", { class: "req", "aria-hidden": "true" }, "*")), reason, reasonError),
    h("fieldset", { class: "group" }, h("legend", {}, "证明材料"),
      editing?.evidence.length ? h("p", { class: "sub" }, `已上传 ${editing.evidence.length} 份`) : null,
      h("div", { class: "field" }, h("label", { for: "evidence-kind" }, "材料类别"), kind),
      h("div", { class: "field" }, h("label", { for: "evidence-file" }, "选择文件（可多选）"), file),
      h("p", { class: "hint", id: "evidence-hint" }, "身份证、户口簿、单位证明等的照片或扫描件：PDF、JPEG、PNG 或 TIFF。"), fileError),
    h("div", { class: "actions end" }, submit));
  const box = clear(document.getElementById("correction-body"));
  box.append(form);
  if (returned) {
    for (const c of returned.changes) addRow(c.field, c.new);
    reason.value = returned.reason || "";
  } else addRow();

  const showError = (slot, target, message) => {
    slot.textContent = message;
    slot.hidden = false;
    target.setAttribute("aria-invalid", "true");
    target.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    reasonError.hidden = true;
    fileError.hidden = true;
    reason.removeAttribute("aria-invalid");
    file.removeAttribute("aria-invalid");
    for (const r of rows) r.error("");
    const changes = rows.map((r) => r.get()).filter(Boolean);
    if (!changes.length) {
      rows[0]?.error("请至少选择一个要更正的项目");
      (rows[0]?.element.querySelector("select") || add).focus();
      return;
    }
    if (reason.value.trim().length < 2) return showError(reasonError, reason, "请写明更正原因（至少2个字）");
    if (!editing?.evidence.length && !file.files.length) return showError(fileError, file, "请上传证明材料");
    submit.disabled = true;
    try {
      if (!editing) {
        const started = await post("/cases", { process: PROCESS });
        const detail = await get(`/cases/${started.id}`);
        editing = { case_id: started.id, task_id: detail.tasks.find((t) => t.state === "ready").id, evidence: [] };
      }
      for (const chosen of file.files) {
        const body = new FormData();
        body.append("kind", kind.value);
        body.append("file", chosen);
        const doc = await api("POST", `/cases/${editing.case_id}/documents`, { form: body });
        editing.evidence.push(String(doc.id));
      }
      file.value = "";
      const task = await get(`/tasks/${encodeURIComponent(editing.task_id)}`);
      await post(`/tasks/${encodeURIComponent(editing.task_id)}/complete`, {
        id_number: own.person_id, changes, reason: reason.value.trim(), evidence: editing.evidence,
      }, { headers: { "If-Match": String(task.case_version) } });
      const caseId = editing.case_id;
      editing = null;
      await load();
      announce(`已提交更正申请（案件 ${caseId}），经办机构审核后将在“我的更正申请”中显示结果。`, "ok");
      document.getElementById("requests-title").scrollIntoView();
    } catch (err) {
      submit.disabled = false;
      if (editing) refreshRequests(); // the request is kept as a draft, to be corrected and sent again
      if (err instanceof Problem && err.errors.length) {
        for (const e of err.errors) {
          const m = /^\/changes\/(\d+)/.exec(e.pointer || "");
          const row = m ? rows.filter((r) => r.get())[Number(m[1])] : null;
          if (row) row.error(e.message);
          else if (e.pointer === "/reason") showError(reasonError, reason, e.message);
          else if (e.pointer === "/file" || e.pointer === "/kind") showError(fileError, file, e.message);
        }
        announce(`${err.title}：${err.detail || err.errors.map((e) => e.message).join("；")}`, "error");
      } else announceProblem(err);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// The requests and their status

function requests() {
  const box = clear(document.getElementById("requests-body"));
  if (!own.corrections.length) {
    box.append(h("p", { class: "muted" }, "您还没有提交过更正申请。"));
    return;
  }
  box.append(h("ol", { class: "requests" }, own.corrections.map((c) => h("li", { dataset: { caseId: String(c.case_id), state: c.state } },
    h("div", { class: "request-head" }, h("strong", {}, `案件 ${c.case_id}`), h("span", { class: "sub" }, time(c.created_at)),
      h("span", { class: `badge state state-${c.state}` }, c.state_text)),
    c.changes.length ? h("ul", { class: "changes" }, c.changes.map((ch) => h("li", {},
      `${titleAt(schema, ch.field)}：${shown(ch.field, ch.old)} → ${shown(ch.field, ch.new)}`))) : null,
    c.reason ? h("p", { class: "sub" }, `更正原因：${c.reason}；证明材料 ${c.evidence.length} 份`) : null,
    c.agency_reason ? h("p", { class: "agency-reason" }, `经办机构意见：${c.agency_reason}`) : null,
    c.task_id ? h("button", { type: "button", onclick: () => resume(c) }, c.state === "returned" ? "补正此申请" : "继续填写") : null))));
}

async function refreshRequests() {
  try {
    own = await get("/me/registration");
    requests();
  } catch (err) {
    announceProblem(err);
  }
}

function resume(c) {
  editing = { case_id: c.case_id, task_id: c.task_id, evidence: [...c.evidence] };
  correctionForm(c.state === "returned" ? c : { ...c, agency_reason: "" });
  document.getElementById("correction").scrollIntoView();
  rows[0]?.focus();
}

async function load() {
  [own, schema] = await Promise.all([get("/me/registration"), schema || get("/forms/registration")]);
  const changed = own.corrections.flatMap((c) => c.changes.filter((ch) => ch.field.endsWith("/division")));
  const codes = [...divisionCodes(schema, own.record), ...changed.flatMap((ch) => [ch.old, ch.new])];
  names = await divisionPaths(get, codes).catch(() => new Map());
  reminder();
  record();
  sources();
  requests();
  if (!editing) correctionForm(null);
}

setupPrint();
load().catch((err) => {
  clear(document.getElementById("record-body")).append(h("p", {}, err.detail || err.title || "无法查询登记信息"));
  announceProblem(err);
});
