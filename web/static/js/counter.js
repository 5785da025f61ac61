// 窗口办理 (第十三条): the clerk enters or scans a 公民身份号码 and presses Enter; the person's missing and
// inaccurate items pop up at once with the 登记表 fields they concern, ready to fill. Submitting starts
// a counter_collection case for the person (or continues one sent back by the 校核) and completes its
// 窗口采集 task; a second clerk completes the 录入校核 from the list below. No page reloads: the next
// person can be scanned as soon as one is submitted.
import { Problem, get, post } from "./api.js";
import { divisionCodes, editForm, readOnly } from "./form.js";
import { ME, announce, announceProblem, clear, divisionPaths, h, itemBadge, time } from "./ui.js";

const PROCESS = "counter_collection";
const lookup = document.getElementById("lookup");
const idInput = document.getElementById("id-number");
const idError = document.getElementById("id-number-error");
const section = document.getElementById("person");
const popup = document.getElementById("popup");
const collectBox = document.getElementById("collect");
const checkList = document.getElementById("check-list");

const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
const topKey = (pointer) => pointer.split("/")[1] || "";

// The cases this clerk collected in this browser session: their 校核 is another clerk's (the engine
// refuses it anyway), so they are marked rather than offered.
const MINE = `canbao.counter.collected.${ME.sub}`;
const collectedByMe = () => new Set(JSON.parse(sessionStorage.getItem(MINE) || "[]"));
function rememberCollected(caseId) {
  sessionStorage.setItem(MINE, JSON.stringify([...collectedByMe(), caseId].slice(-200)));
}

let registration; // the 登记表 schema
const schema = async () => (registration ??= await get("/forms/registration"));

function idProblem(message) {
  idError.textContent = message;
  idError.hidden = false;
  idInput.setAttribute("aria-invalid", "true");
  idInput.focus();
}

function resetLookup(message) {
  section.hidden = true;
  clear(popup);
  clear(collectBox);
  idInput.value = "";
  idInput.focus();
  if (message) announce(message, "ok");
}

// The running counter case of this person, if any: its ready task and its data.
async function openCase(person) {
  const { items } = await get("/cases", { process: PROCESS, person_id: person, status: "running", limit: 5 });
  for (const c of items) {
    const detail = await get(`/cases/${c.id}`);
    const ready = detail.tasks.find((t) => t.state === "ready");
    if (ready) return { case: detail, task: ready };
  }
  return null;
}

function showPopup(person, { items, flags }, open) {
  clear(popup);
  popup.className = `popup${items.length ? " popup-warn" : ""}`;
  const flagged = flags.length ? "需调查登记，" : "";
  const heading = items.length
    ? `${person.name}：${flagged}缺失、不准信息 ${items.length} 项，请在办理业务的同时采集补全`
    : `${person.name}：登记信息完整，无需采集`;
  popup.append(h("h3", {}, heading));
  if (items.length) {
    popup.append(h("ul", { class: "items-list" }, items.map((item) => h("li", { dataset: { pointer: item.pointer } },
      itemBadge(item),
      " ", item.message))));
  }
  if (open?.task?.task === "check") {
    popup.append(h("p", { class: "notice" }, `该人员已有窗口采集等待校核（案件 ${open.case.id}），无需重复采集。`));
  }
}

// The 登记表 with only the groups the items concern shown (the rest travels unchanged).
async function collectForm(person, items, open) {
  const formSchema = await schema();
  const data = open ? open.case.data.registration || {} : structuredClone(person);
  data.survey = { channel: "counter", date: today() };
  const flagged = items.map((i) => (i.pointer === "/" ? "" : i.pointer)).filter(Boolean);
  const view = editForm(formSchema, data, { flagged });
  const wanted = new Set(flagged.map(topKey));
  if (items.some((i) => i.pointer === "/")) for (const key of Object.keys(formSchema.properties)) wanted.add(key);
  wanted.delete("survey");
  const groups = [...view.root.element.querySelector(".fields").children];
  const show = (all) => {
    for (const el of groups) el.hidden = !all && !wanted.has(topKey(el.dataset.pointer || ""));
  };
  show(false);
  const returned = open?.case.data.check?.decision === "return" ? open.case.data.check.reason : null;
  const submit = h("button", { type: "submit", class: "primary" }, "提交采集（送校核）");
  const all = h("button", { type: "button", "aria-pressed": "false" }, "显示全部登记项");
  all.addEventListener("click", () => {
    const on = all.getAttribute("aria-pressed") !== "true";
    all.setAttribute("aria-pressed", String(on));
    show(on);
  });
  const form = h("form", { novalidate: true, class: "task-form", "aria-labelledby": "collect-title" },
    h("h3", { id: "collect-title" }, open ? `继续采集（案件 ${open.case.id}）` : "采集补全"),
    returned && h("p", { class: "returns" }, `校核退回：${returned}`),
    view.element, h("div", { class: "actions end" }, submit, all));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const data = view.collect();
      data.insurance ??= []; // an uninsured person's 登记表 says so with an empty list and a reason
      const done = await submitCollection(person.person_id, data, open, (started) => { open = started; });
      rememberCollected(done.case_id);
      resetLookup(`已提交：${person.name} 的窗口采集（案件 ${done.case_id}），等待另一名窗口经办人员校核。`);
      refreshChecks();
    } catch (err) {
      if (err instanceof Problem && err.errors.length) {
        show(true);
        all.setAttribute("aria-pressed", "true");
        view.showErrors(err.errors);
        announce(`${err.title}：${err.detail}`, "error");
      } else announceProblem(err);
      submit.disabled = false;
    }
  });
  clear(collectBox).append(form);
  // the first field to collect, in the order the form shows them
  const first = [...view.nodes.values()].find((n) => n.input && flagged.includes(n.pointer))
    || flagged.map((p) => view.nodes.get(`/${topKey(p)}`)).find(Boolean);
  (first || view.root).focus();
}

// Start the case (once) and complete its 窗口采集 task with the collected 登记表.
async function submitCollection(personId, registrationData, open, remember) {
  let current = open;
  if (!current) {
    const started = await post("/cases", { process: PROCESS, person_id: personId });
    const detail = await get(`/cases/${started.id}`);
    current = { case: detail, task: detail.tasks.find((t) => t.state === "ready") };
    remember(current); // a refused submission is corrected and sent again on the same case
  }
  const task = await get(`/tasks/${encodeURIComponent(current.task.id)}`);
  return post(`/tasks/${encodeURIComponent(task.id)}/complete`, registrationData, {
    headers: { "If-Match": String(task.case_version) },
  });
}

async function find(event) {
  event.preventDefault();
  idError.hidden = true;
  idInput.removeAttribute("aria-invalid");
  const number = idInput.value.trim().toUpperCase();
  if (!/^(\d{17}[\dX]|\d{15})$/.test(number)) return idProblem("请输入18位公民身份号码（或扫描身份证件）");
  try {
    const missing = await get(`/persons/${number}/missing`); // refuses a wrong or unknown number first
    const [person, open] = await Promise.all([get(`/persons/${number}`), openCase(number)]);
    person.person_id = missing.person_id;
    document.getElementById("person-title").textContent = `${person.name}（${number}）`;
    const meta = clear(document.getElementById("person-meta"));
    const names = await divisionPaths(get, [person.area]).catch(() => new Map());
    meta.append(h("div", {}, h("dt", {}, "管理区划"), h("dd", {}, names.get(person.area) || person.area)),
      h("div", {}, h("dt", {}, "登记状态"), h("dd", {}, person.registered_at ? `已登记（${time(person.registered_at)}）` : "未完成全民参保登记")));
    section.hidden = false;
    showPopup(person, missing, open);
    clear(collectBox);
    if (open?.task?.task === "check" || (!missing.items.length && !open)) {
      idInput.select(); // nothing to collect: the next scan replaces the number
      idInput.focus();
      return;
    }
    await collectForm(person, missing.items, open?.task?.task === "collect" ? open : null);
  } catch (err) {
    section.hidden = true;
    if (err.status === 404) return idProblem("登记库中没有该人员，或不在您的管辖范围内");
    const onNumber = err.errors?.find((e) => e.pointer.endsWith("id_number"));
    if (onNumber) return idProblem(onNumber.message);
    announceProblem(err);
  }
}

// 录入校核: the collections other clerks submitted, checked here (the engine refuses one's own).
async function checkPanel(row, box, opener) {
  const [task, formSchema] = await Promise.all([get(`/tasks/${encodeURIComponent(row.id)}`), schema()]);
  const value = task.data.registration || {};
  const names = await divisionPaths(get, divisionCodes(formSchema, value)).catch(() => new Map());
  const reason = h("textarea", { id: `reason-${row.id}`, rows: "2", maxlength: "500", "aria-describedby": `reason-error-${row.id}` });
  const reasonError = h("p", { class: "field-error", id: `reason-error-${row.id}`, hidden: true });
  const buttons = ["approve", "return"].map((d) => h("button", { type: "submit", value: d, class: d === "approve" ? "primary" : undefined },
    d === "approve" ? "校核通过（入库）" : "退回重新采集"));
  const form = h("form", { novalidate: true, class: "decision-form", "aria-label": `校核 ${row.person_name || ""}` },
    h("div", { class: "review-data" }, readOnly(formSchema, value, names)),
    h("div", { class: "field" }, h("label", { for: reason.id }, "校核意见（退回时必填）"), reason, reasonError),
    h("div", { class: "actions end" }, buttons));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter?.value || "approve";
    const text = reason.value.trim();
    if (decision === "return" && text.length < 2) {
      reasonError.textContent = "退回重新采集时必须写明原因（至少2个字）";
      reasonError.hidden = false;
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    for (const b of buttons) b.disabled = true;
    const headers = { "If-Match": String(task.case_version) };
    try {
      const result = decision === "return"
        ? await post(`/tasks/${encodeURIComponent(row.id)}/return`, { reason: text }, { headers })
        : await post(`/tasks/${encodeURIComponent(row.id)}/complete`, { decision, ...(text ? { reason: text } : {}) }, { headers });
      announce(decision === "approve"
        ? `校核通过：${row.person_name} 已入库，需调查登记标识已取消（案件 ${result.case_id}）。`
        : `已退回重新采集：${row.person_name}（案件 ${result.case_id}）。`, "ok");
      await refreshChecks();
      (checkList.querySelector("button.open") || idInput).focus();
    } catch (err) {
      announceProblem(err);
      for (const b of buttons) b.disabled = false;
      opener.focus();
    }
  });
  clear(box).append(form);
  box.hidden = false;
  buttons[0].focus();
}

async function refreshChecks() {
  try {
    const { items } = await get("/tasks", { process: PROCESS, limit: 50 });
    const rows = items.filter((t) => t.task === "check");
    clear(checkList);
    if (!rows.length) {
      checkList.append(h("p", { class: "empty" }, "暂无待校核的窗口采集。"));
      return;
    }
    const mine = collectedByMe();
    checkList.append(h("ul", { class: "check-list" }, rows.map((row) => {
      const head = (action) => h("div", { class: "check-row" }, h("strong", {}, row.person_name || "（未登记姓名）"),
        h("span", { class: "mono" }, row.person_id || ""), h("span", { class: "sub" }, `案件 ${row.case_id}，${time(row.created_at)}`),
        action);
      if (mine.has(row.case_id)) {
        return h("li", { dataset: { caseId: row.case_id } }, head(h("span", { class: "badge" }, "本人采集，由另一名窗口经办人员校核")));
      }
      const box = h("div", { class: "check-panel", hidden: true });
      const opener = h("button", { type: "button", class: "open", "aria-expanded": "false" }, `校核 ${row.person_name || ""}`);
      opener.addEventListener("click", async () => {
        const open = opener.getAttribute("aria-expanded") === "true";
        opener.setAttribute("aria-expanded", String(!open));
        if (open) {
          box.hidden = true;
          return;
        }
        try {
          await checkPanel(row, box, opener);
        } catch (err) {
          announceProblem(err);
        }
      });
      return h("li", { dataset: { caseId: row.case_id } }, head(opener), box);
    })));
  } catch (err) {
    announceProblem(err);
  }
}

lookup.addEventListener("submit", find);
idInput.addEventListener("input", () => {
  idError.hidden = true;
  idInput.removeAttribute("aria-invalid");
});
document.getElementById("checks-refresh").addEventListener("click", refreshChecks);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshChecks();
});
refreshChecks();
