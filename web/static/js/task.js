// 办理任务: the task's form rendered from its JSON Schema, or, for a review, the data under review and
// the decision (approve / return with reason / reject).
import { Problem, api, get, post } from "./api.js";
import { documents } from "./documents.js";
import { DECISIONS } from "./events.js";
import { divisionCodes, editForm, fieldPointers, namedChanges, readOnly, titleAt } from "./form.js";
import { ME, announce, announceProblem, can, clear, divisionPaths, flash, h, time, timeEl } from "./ui.js";

const main = document.getElementById("main");
const taskId = main.dataset.taskId;
const body = document.getElementById("task-body");
const REVIEW_FORM = "review_decision";

let detail;
let history = [];
const schemas = new Map();

function schema(key) {
  if (!schemas.has(key)) schemas.set(key, get(`/forms/${encodeURIComponent(key)}`));
  return schemas.get(key);
}

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function meta(names) {
  const dl = clear(document.getElementById("task-meta"));
  const row = (label, ...value) => dl.append(h("div", {}, h("dt", {}, label), h("dd", {}, value)));
  row("案件", h("a", { href: `/cases/${detail.case_id}` }, `案件 ${detail.case_id}`));
  row("人员", detail.person_name || "（未登记姓名）", detail.person_id && h("span", { class: "mono" }, ` ${detail.person_id}`));
  row("区划", names.get(detail.area) || detail.area);
  row("到期时间", timeEl(detail.due_at), detail.overdue && h("span", { class: "badge badge-warn" }, "已超期"));
  row("办理人", detail.assignee || "待认领");
}

const workable = () => detail.state === "ready" && (!detail.assignee || detail.assignee === ME.sub);

function claimNotice() {
  const box = clear(document.getElementById("task-claim"));
  box.hidden = false;
  if (detail.state !== "ready") {
    box.append(h("p", {}, "此任务已办结。"));
  } else if (detail.assignee && detail.assignee !== ME.sub) {
    box.append(h("p", {}, `此任务已由 ${detail.assignee} 认领，您不能办理。`));
  } else if (detail.assignee === ME.sub) {
    box.append(h("p", {}, detail.returned_by
      ? [h("span", { class: "badge badge-warn" }, "退回补正"), ` ${detail.returned_by} 退回了您上次提交的登记，已交回您本人补正。`]
      : "您已认领此任务。"),
      h("button", { type: "button", onclick: () => claim("unclaim") }, "退回任务池"));
  } else {
    box.append(h("p", {}, "此任务尚未认领，提交即由您办理；也可先认领，避免他人同时办理。"),
      h("button", { type: "button", onclick: () => claim("claim") }, "认领此任务"));
  }
}

async function claim(action) {
  try {
    const row = await post(`/tasks/${encodeURIComponent(taskId)}/${action}`);
    detail.assignee = row.assignee;
    announce(action === "claim" ? "已认领此任务" : "已退回任务池", "ok");
  } catch (err) {
    announceProblem(err);
  }
  claimNotice();
  meta(await divisionPaths(get, [detail.area]).catch(() => new Map()));
}

// The latest return that sent the case back to this task, if it came after this task was last done.
function pendingReturn() {
  let lastReturn = null;
  let lastDone = null;
  for (const e of history) {
    if (e.action === "task.return") lastReturn = e;
    if (e.action === "task.complete" && e.payload?.task === detail.task) lastDone = e;
  }
  return lastReturn && (!lastDone || lastReturn.seq > lastDone.seq) && detail.form !== REVIEW_FORM ? lastReturn : null;
}

async function showReturn(event) {
  const section = document.getElementById("returns");
  const list = clear(section.querySelector("ul"));
  const data = event.payload?.data || {};
  const registration = await schema("registration");
  const items = (data.return_items || []).map((p) => titleAt(registration, p));
  list.append(h("li", {},
    h("strong", {}, `${event.payload?.name || "审核"}（${event.actor}，${time(event.at)}）：`), data.reason || "",
    items.length ? h("div", {}, `需补正：${items.join("、")}`) : null));
  section.hidden = false;
  return data.return_items || [];
}

// The surveyor's team (the case's) and their own entry in it: 调查小组 and the signed-in surveyor's name and
// 调查证 are filled in for them.
async function myTeam() {
  if (!detail.team_id || !ME.roles.includes("surveyor") || !can("survey.read")) return null;
  try {
    const team = await get(`/survey-teams/${detail.team_id}`);
    return { team, me: team.members.find((m) => m.user_sub === ME.sub) };
  } catch {
    return null; // the form still works; the surveyor types them
  }
}

const teamCode = (team) => `${team.area}-${String(team.id).padStart(2, "0")}`;

function defaults(value, mine) {
  if (detail.form !== "registration") return value;
  const v = structuredClone(value);
  if (!v.id_number && detail.person_id && !detail.person_id.includes("*")) {
    v.id_type ??= "01";
    v.id_number = detail.person_id;
  }
  if (!v.name && detail.person_name) v.name = detail.person_name;
  const channel = { survey_registration: "survey", counter_collection: "counter" }[detail.process];
  if (channel && !v.survey) v.survey = { channel, date: today() };
  if (channel === "survey" && mine) {
    v.survey.team ??= teamCode(mine.team);
    if (mine.me && !v.survey.surveyors?.length) v.survey.surveyors = [{ name: mine.me.name, card_no: mine.me.card_no }];
  }
  return v;
}

function failed(err, view) {
  if (err instanceof Problem && err.status === 412) {
    announce("案件已被他人更新，请刷新页面后重新办理。", "error");
    return;
  }
  if (err instanceof Problem && err.errors.length && view) {
    view.showErrors(err.errors);
    announce(`${err.title}：${err.detail}`, "error");
    return;
  }
  announceProblem(err);
}

async function editTask() {
  const formSchema = await schema(detail.form);
  const ret = pendingReturn();
  const flagged = ret ? await showReturn(ret) : [];
  // a change request names 登记表 fields by JSON pointer: offer them by name
  const suggest = detail.form === "change_request"
    ? [{ match: /^\/changes\/\d+\/field$/, values: fieldPointers(await schema("registration")) }]
    : [];
  const draft = detail.draft_saved_at && workable()
    ? await get(`/tasks/${encodeURIComponent(taskId)}/draft`).catch(() => null) : null;
  const start = draft ? draft.data : defaults(detail.data?.[detail.data_key] || {}, await myTeam());
  const view = editForm(formSchema, start, { flagged, suggest });
  const submit = h("button", { type: "submit", class: "primary" }, "提交");
  const keep = h("button", { type: "button", id: "save-draft" }, "暂存草稿");
  const saved = h("span", { class: "muted", id: "draft-state", role: "status" },
    draft ? `已恢复 ${time(draft.saved_at)} 暂存的草稿` : "");
  const form = h("form", { novalidate: true, class: "task-form", "aria-label": formSchema.title || detail.title },
    h("h2", {}, formSchema.title || detail.title), view.element,
    h("div", { class: "actions end" }, saved, keep, submit));
  if (!workable()) {
    submit.disabled = true;
    for (const el of form.querySelectorAll("input,select,textarea,button")) el.disabled = true;
  }
  keep.addEventListener("click", async () => {
    keep.disabled = true;
    try {
      const result = await api("PUT", `/tasks/${encodeURIComponent(taskId)}/draft`, { json: view.collect() });
      saved.textContent = `草稿已暂存（${time(result.saved_at)}），可稍后继续填写`;
    } catch (err) {
      announceProblem(err);
    }
    keep.disabled = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const result = await post(`/tasks/${encodeURIComponent(taskId)}/complete`, view.collect(), {
        headers: { "If-Match": String(detail.case_version) },
      });
      flash(`已提交：${detail.title}（案件 ${result.case_id}${result.status_detail ? `，${result.status_detail}` : ""}）`);
      location.assign("/tasks");
    } catch (err) {
      failed(err, view);
      submit.disabled = false;
    }
  });
  body.append(form);
}

function reviewHistory() {
  const reviews = history.filter((e) => ["task.complete", "task.return"].includes(e.action) && e.payload?.form === REVIEW_FORM);
  if (!reviews.length) return null;
  return h("section", { "aria-labelledby": "reviews-title" },
    h("h2", { id: "reviews-title" }, "审核记录"),
    h("ol", { class: "timeline" }, reviews.map((e) => h("li", {},
      timeEl(e.at), " ", h("strong", {}, e.payload.name || e.payload.task), `（${e.actor}）：`,
      DECISIONS[e.payload.data?.decision] || e.payload.data?.decision || "",
      e.payload.data?.reason ? `，${e.payload.data.reason}` : ""))));
}

// What the resubmission under review changed since the same task's previous submission, field by field.
async function changesSection() {
  const found = await get(`/tasks/${encodeURIComponent(taskId)}/changes`).catch(() => null);
  if (!found?.previous_at) return null;
  const shown = (text, value) => text ?? (value === null || value === undefined ? "（空）" : JSON.stringify(value));
  return h("section", { class: "changes panel", "aria-labelledby": "changes-title" },
    h("h2", { id: "changes-title" }, `重新提交的变化（与 ${time(found.previous_at)} 的提交相比）`),
    found.changes.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "changes" },
        h("caption", { class: "visually-hidden" }, "逐项变化"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "项目"), h("th", { scope: "col" }, "上次提交"),
          h("th", { scope: "col" }, "本次提交"))),
        h("tbody", {}, found.changes.map((c) => h("tr", { dataset: { pointer: c.pointer } },
          h("th", { scope: "row" }, c.title), h("td", { class: "old" }, shown(c.old_text, c.old)),
          h("td", { class: "new" }, shown(c.new_text, c.new)))))))
      : h("p", {}, "本次提交与上次相同，没有修改任何项目。"));
}

async function reviewTask() {
  const changed = await changesSection();
  if (changed) body.append(changed);
  const forms = await get("/forms");
  const shown = forms.map((f) => f.key).filter((k) => k !== REVIEW_FORM && detail.data?.[k]);
  for (const key of shown) {
    const s = await schema(key);
    const names = await divisionPaths(get, divisionCodes(s, detail.data[key])).catch(() => new Map());
    const value = key === "change_request" ? namedChanges(detail.data[key], await schema("registration")) : detail.data[key];
    body.append(h("section", { class: "review-data", "aria-labelledby": `data-${key}` },
      h("h2", { id: `data-${key}` }, s.title || key), readOnly(s, value, names)));
  }
  const past = reviewHistory();
  if (past) body.append(past);

  const decisions = detail.decisions || ["approve", "return", "reject"];
  const reason = h("textarea", { id: "reason", name: "reason", rows: "3", maxlength: "500", "aria-describedby": "reason-hint reason-error" });
  const reasonError = h("p", { class: "field-error", id: "reason-error", hidden: true });
  const registration = await schema("registration");
  const items = decisions.includes("return")
    ? h("fieldset", { class: "group return-items", id: "return-items" },
      h("legend", {}, "需补正的项目（退回补正时选择）"),
      h("div", { class: "checks" }, Object.entries(registration.properties).map(([key, s]) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", name: "return_items", value: `/${key}` }), s.title || key))))
    : null;
  const buttons = decisions.map((d) => h("button", {
    type: "submit", value: d, class: d === "approve" ? "primary" : d === "reject" ? "danger" : undefined,
  }, DECISIONS[d] || d));
  const form = h("form", { novalidate: true, class: "decision-form", "aria-labelledby": "decision-title" },
    h("h2", { id: "decision-title" }, "审核意见"),
    h("div", { class: "field" }, h("label", { for: "reason" }, "审核意见说明"), reason,
      h("p", { class: "hint", id: "reason-hint" }, "退回补正或不予通过时必须写明原因。"), reasonError),
    items, h("div", { class: "actions end" }, buttons));
  if (!workable()) for (const el of form.querySelectorAll("textarea,input,button")) el.disabled = true;

  reason.addEventListener("input", () => {
    reasonError.hidden = true;
    reason.removeAttribute("aria-invalid");
  });
  const showReasonError = (message) => {
    reasonError.textContent = message;
    reasonError.hidden = false;
    reason.setAttribute("aria-invalid", "true");
    reason.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter?.value;
    const text = reason.value.trim();
    reasonError.hidden = true;
    reason.removeAttribute("aria-invalid");
    if (decision !== "approve" && text.length < 2) {
      showReasonError(`${DECISIONS[decision]}时必须写明原因（至少2个字）`);
      return;
    }
    const returnItems = [...form.querySelectorAll("input[name=return_items]:checked")].map((c) => c.value);
    const headers = { "If-Match": String(detail.case_version) };
    for (const b of buttons) b.disabled = true;
    try {
      const result = decision === "return"
        ? await post(`/tasks/${encodeURIComponent(taskId)}/return`, { reason: text, return_items: returnItems }, { headers })
        : await post(`/tasks/${encodeURIComponent(taskId)}/complete`, { decision, ...(text ? { reason: text } : {}) }, { headers });
      flash(`已${DECISIONS[decision]}：${detail.title}（案件 ${result.case_id}${result.status_detail ? `，${result.status_detail}` : ""}）`);
      location.assign("/tasks");
    } catch (err) {
      const onReason = err.errors?.find((e) => e.pointer === "/reason");
      if (onReason) showReasonError(onReason.message);
      failed(err, null);
      for (const b of buttons) b.disabled = false;
    }
  });
  body.append(form);
}

async function init() {
  try {
    detail = await get(`/tasks/${encodeURIComponent(taskId)}`);
  } catch (err) {
    document.getElementById("task-title").textContent = err.status === 404 ? "任务不存在或不在您的辖区" : "无法打开任务";
    announceProblem(err);
    return;
  }
  document.getElementById("task-title").textContent = detail.title;
  document.getElementById("crumb").textContent = detail.title;
  document.title = `${detail.title} · 全民参保登记`;
  [history] = await Promise.all([get(`/cases/${detail.case_id}/history`).catch(() => [])]);
  meta(await divisionPaths(get, [detail.area]).catch(() => new Map()));
  if (detail.documentation) {
    const doc = document.getElementById("task-doc");
    doc.textContent = detail.documentation;
    doc.hidden = false;
  }
  claimNotice();
  if (detail.form === REVIEW_FORM) await reviewTask();
  else if (detail.form) await editTask();
  if (can("documents.read")) {
    const section = document.getElementById("task-documents");
    section.hidden = false;
    const decision = body.querySelector(".decision-form");
    if (decision) body.insertBefore(section, decision); // a reviewer sees the paperwork before deciding
    const upload = workable() && can("documents.write")
      ? { kinds: JSON.parse(main.dataset.kinds), maxBytes: Number(main.dataset.maxUpload) }
      : {};
    await documents(document.getElementById("documents"), detail.case_id, upload);
  }
}

init();
