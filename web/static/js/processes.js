// 流程管理: definitions and their versions, the bpmn-js modeler (vendored), validation problems shown
// on the elements they concern, and saving as a new version.
/* global BpmnJS */
import { Problem, api, get } from "./api.js";
import { announce, announceProblem, clear, h, time } from "./ui.js";

const modeler = new BpmnJS({ container: "#canvas" });
const canvas = modeler.get("canvas");
const registry = modeler.get("elementRegistry");
const overlays = modeler.get("overlays");
const selection = modeler.get("selection");
const modeling = modeler.get("modeling");
const eventBus = modeler.get("eventBus");

const list = document.getElementById("definitions");
const problemsBox = document.getElementById("problems");
const panel = document.getElementById("element-panel");
const nameInput = document.getElementById("element-name");
const buttons = { validate: document.getElementById("validate"), save: document.getElementById("save") };

let current = null;
let marked = [];
let selected = null;

// Every process is listed whatever state it is in: only drafts, every version retired, a current
// version with drafts beside it. One process whose versions cannot be read does not hide the others.
async function loadDefinitions() {
  const keys = [...new Set((await get("/definitions")).map((row) => row.key))];
  const all = await Promise.allSettled(keys.map((key) => get(`/definitions/${encodeURIComponent(key)}/versions`)));
  clear(list);
  keys.forEach((key, i) => {
    if (all[i].status === "rejected") {
      list.append(h("li", { dataset: { key } }, h("h3", {}, key), h("p", { class: "field-error" }, `版本列表无法读取：${all[i].reason.message}`)));
      return;
    }
    const versions = all[i].value.sort((a, b) => b.version - a.version);
    list.append(h("li", { dataset: { key } },
      h("h3", {}, versions[0].name || key), h("p", { class: "sub mono" }, key),
      !versions.some((v) => v.current) && h("p", { class: "sub" }, h("span", { class: "badge badge-warn" }, "没有当前版本"), " 新案件不能发起，请发布一个版本"),
      h("ul", { class: "versions" }, versions.map((v) => versionItem(key, v))),
      versions.length > 1 && h("a", { href: `/processes/${encodeURIComponent(key)}/diff`, class: "button" }, "对比版本、迁移案件")));
  });
}

function versionItem(key, v) {
  const state = v.current ? "当前版本" : v.retired_at ? "已停用" : v.published_at ? "已发布" : "未发布";
  const used = v.cases.open + v.cases.completed;
  const act = (label, action) => h("button", { type: "button", class: "small", onclick: () => manage(v, action) }, label);
  return h("li", { dataset: { version: v.version } },
    h("button", {
      type: "button", class: "version", "aria-pressed": String(current?.key === key && current?.version === v.version),
      dataset: { version: v.version }, onclick: () => open(v),
    }, `版本 ${v.version}`),
    h("span", { class: `badge${v.current ? " badge-ok" : ""}` }, state),
    h("div", { class: "sub" }, `${v.deployed_by}，${time(v.deployed_at)}；运行中 ${v.cases.open} 件，已办结 ${v.cases.completed} 件`),
    v.comment && h("div", { class: "sub" }, v.comment),
    h("div", { class: "row-actions" },
      !v.current && act(v.retired_at ? "恢复发布" : "发布", "publish"),
      !v.retired_at && act("停用", "retire"),
      used === 0 && !v.current && act("删除", "delete")));
}

const ACTIONS = { publish: "发布", retire: "停用", delete: "删除" };

async function manage(v, action) {
  const path = `/definitions/${encodeURIComponent(v.key)}/versions/${v.version}`;
  if (action === "delete" && !window.confirm(`确定删除 ${v.name || v.key} 版本 ${v.version}？`)) return;
  try {
    if (action === "delete") await api("DELETE", path);
    else await api("POST", `${path}/${action}`);
    announce(`已${ACTIONS[action]}：${v.name || v.key} 版本 ${v.version}`, "ok");
  } catch (err) {
    announceProblem(err);
  }
  await loadDefinitions();
}

async function open(definition) {
  let xml;
  try {
    xml = await api("GET", `/definitions/${encodeURIComponent(definition.key)}/versions/${definition.version}/xml`, {
      headers: { Accept: "application/xml" },
    });
    await modeler.importXML(xml);
  } catch (err) {
    if (err instanceof Problem) announceProblem(err);
    else announce(`流程图无法打开：${err.message}`, "error");
    return;
  }
  fitBesidePalette();
  fillElementPicker();
  current = { key: definition.key, version: definition.version, name: definition.name };
  document.getElementById("editor-title").textContent = `${definition.name || definition.key} · 版本 ${definition.version}`;
  buttons.validate.disabled = buttons.save.disabled = false;
  showProblems([]);
  showPanel(null);
  for (const b of list.querySelectorAll("button.version")) {
    const li = b.closest("[data-key]");
    b.setAttribute("aria-pressed", String(li.dataset.key === definition.key && Number(b.dataset.version) === definition.version));
  }
}

// Fit the whole diagram into the part of the canvas the palette does not cover.
function fitBesidePalette() {
  const container = document.getElementById("canvas");
  const palette = container.querySelector(".djs-palette");
  const offset = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 12 : 0;
  const { inner, outer } = canvas.viewbox();
  const scale = Math.min((outer.width - offset - 12) / inner.width, (outer.height - 24) / inner.height, 1);
  canvas.viewbox({
    x: inner.x - (offset / scale), y: inner.y - 12 / scale, width: outer.width / scale, height: outer.height / scale,
  });
}

function focusElement(element) {
  selection.select(element);
  canvas.scrollToElement(element);
}

function showProblems(problems) {
  overlays.remove({ type: "problem" });
  for (const id of marked) canvas.removeMarker(id, "cb-problem");
  marked = [];
  const ul = clear(problemsBox.querySelector("ul"));
  problemsBox.hidden = problems.length === 0;
  const counts = new Map();
  for (const p of problems) {
    const element = p.element_id ? registry.get(p.element_id) : null;
    const name = element?.businessObject?.name;
    const where = p.element_id ? `${name ? `${name}（${p.element_id}）` : p.element_id}：` : "整个文档：";
    ul.append(h("li", { dataset: { element: p.element_id || "" } },
      element ? h("button", { type: "button", class: "link", onclick: () => focusElement(element) }, where) : where,
      p.message, h("span", { class: "sub mono" }, ` ${p.code}${p.attribute ? ` · ${p.attribute}` : ""}`)));
    if (element) counts.set(element.id, [...(counts.get(element.id) || []), p.message]);
  }
  for (const [id, messages] of counts) {
    canvas.addMarker(id, "cb-problem");
    marked.push(id);
    overlays.add(id, "problem", {
      position: { top: -10, right: 10 },
      html: h("span", { class: "problem-badge", title: messages.join("\n") }, String(messages.length)),
    });
  }
}

async function currentXml() {
  const { xml } = await modeler.saveXML({ format: true });
  return xml;
}

async function validate() {
  try {
    const result = await api("POST", "/definitions/validate", { xml: await currentXml() });
    showProblems(result.problems);
    announce(result.valid ? "校验通过，没有发现问题" : `校验发现 ${result.problems.length} 处问题`, result.valid ? "ok" : "error");
  } catch (err) {
    announceProblem(err);
  }
}

async function save() {
  buttons.save.disabled = true;
  try {
    const comment = document.getElementById("comment").value.trim();
    const result = await api("POST", "/definitions", { xml: await currentXml(), params: { comment: comment || undefined } });
    showProblems([]);
    announce(result.created ? `已保存为版本 ${result.version}` : `内容没有变化，仍为版本 ${result.version}`, "ok");
    current = { key: result.key, version: result.version, name: result.name };
    document.getElementById("editor-title").textContent = `${result.name || result.key} · 版本 ${result.version}`;
    document.getElementById("comment").value = "";
    await loadDefinitions();
  } catch (err) {
    if (err instanceof Problem && err.problems.length) showProblems(err.problems);
    announceProblem(err);
  } finally {
    buttons.save.disabled = false;
  }
}

// The diagram's elements in a list, so that the keyboard reaches every one of them too.
const picker = document.getElementById("element-select");
function fillElementPicker() {
  const elements = registry.filter((e) => e.businessObject?.id === e.id && !["bpmn:Process", "bpmn:Collaboration"].includes(e.type));
  picker.replaceChildren(h("option", { value: "" }, "—"), ...elements.map((e) => h("option", { value: e.id },
    `${e.businessObject.name || "（未命名）"} · ${e.type.replace("bpmn:", "")} · ${e.id}`)));
  picker.closest("label").hidden = false;
}
picker.addEventListener("change", () => {
  const element = registry.get(picker.value);
  if (element) focusElement(element);
});

function showPanel(element) {
  selected = element && element.type !== "bpmn:Process" && element.type !== "bpmn:Collaboration" ? element : null;
  panel.hidden = !selected;
  picker.value = selected ? selected.id : "";
  if (!selected) return;
  document.getElementById("element-id").textContent = `${selected.type.replace("bpmn:", "")} · ${selected.id}`;
  nameInput.value = selected.businessObject.name || "";
}

eventBus.on("selection.changed", ({ newSelection }) => showPanel(newSelection.length === 1 ? newSelection[0] : null));
eventBus.on("element.changed", ({ element }) => {
  if (selected && element.id === selected.id && document.activeElement !== nameInput) {
    nameInput.value = element.businessObject.name || "";
  }
});
panel.addEventListener("submit", (event) => {
  event.preventDefault();
  if (selected) modeling.updateLabel(selected, nameInput.value.trim());
  announce(`已修改名称：${nameInput.value.trim()}`, "ok");
});
buttons.validate.addEventListener("click", validate);
buttons.save.addEventListener("click", save);

loadDefinitions().catch(announceProblem);
