// 流程管理: definitions and their versions, the bpmn-js modeler (vendored with its properties panel) in
// Chinese, canbao's properties edited in the panel, validation problems shown on the elements they
// concern, models drawn in Camunda Modeler or Flowable imported, and two distinct steps: saving a draft
// (a new version that no case starts on) and publishing it.
/* global CanbaoModeler */
import { Problem, api, get } from "./api.js";
import { canbaoPropertiesModule, spiffModdle, useVocabulary } from "./bpmn_properties.js";
import { translateModule, typeName } from "./bpmn_zh.js";
import { announce, announceProblem, clear, h, time } from "./ui.js";

const { Modeler, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, zn } = CanbaoModeler;

try {
  useVocabulary(await get("/definitions/vocabulary"));
} catch (err) {
  announceProblem(err);
}

const modeler = new Modeler({
  container: "#canvas",
  propertiesPanel: {
    parent: "#properties",
    layout: { groups: { general: { open: true }, canbao: { open: true }, timer: { open: true } } },
  },
  additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, canbaoPropertiesModule, translateModule(zn)],
  moddleExtensions: { spiffworkflow: spiffModdle },
});
const canvas = modeler.get("canvas");
const registry = modeler.get("elementRegistry");
const overlays = modeler.get("overlays");
const selection = modeler.get("selection");
const eventBus = modeler.get("eventBus");

const list = document.getElementById("definitions");
const problemsBox = document.getElementById("problems");
const importBox = document.getElementById("import-report");
const stateText = document.getElementById("draft-state");
const buttons = {
  validate: document.getElementById("validate"),
  draft: document.getElementById("save-draft"),
  publish: document.getElementById("publish"),
};

// What the editor holds: a stored version ({key, version, name, published_at, retired_at, current}) or a
// file being imported ({file}); `dirty` once it was changed since it was opened or saved.
let current = null;
let dirty = false;
let marked = [];

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
    if (current?.key === key) {
      const same = versions.find((v) => v.version === current.version);
      if (same) current = same;
    }
    list.append(h("li", { dataset: { key } },
      h("h3", {}, versions[0].name || key), h("p", { class: "sub mono" }, key),
      !versions.some((v) => v.current) && h("p", { class: "sub" }, h("span", { class: "badge badge-warn" }, "没有当前版本"), " 新案件不能发起，请发布一个版本"),
      h("ul", { class: "versions" }, versions.map((v) => versionItem(key, v))),
      versions.length > 1 && h("a", { href: `/processes/${encodeURIComponent(key)}/diff`, class: "button" }, "对比版本、迁移案件")));
  });
  showState();
}

const stateOf = (v) => (v.current ? "当前版本" : v.retired_at ? "已停用" : v.published_at ? "已发布" : "未发布");

function versionItem(key, v) {
  const used = v.cases.open + v.cases.completed;
  const act = (label, action) => h("button", { type: "button", class: "small", onclick: () => manage(v, action) }, label);
  return h("li", { dataset: { version: v.version } },
    h("button", {
      type: "button", class: "version", "aria-pressed": String(current?.key === key && current?.version === v.version),
      dataset: { version: v.version }, onclick: () => open(v),
    }, `版本 ${v.version}`),
    h("span", { class: `badge${v.current ? " badge-ok" : ""}` }, stateOf(v)),
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

// The editor's state beside its buttons; publishing needs a saved version that is not current yet.
function showState() {
  const open = current !== null;
  buttons.validate.disabled = buttons.draft.disabled = !open;
  const publishable = open && current.version && !dirty && !current.current;
  buttons.publish.disabled = !publishable;
  stateText.textContent = !open ? ""
    : current.file ? `导入的文件“${current.file}”，尚未保存`
      : dirty ? `版本 ${current.version} 已修改，尚未保存：先保存草稿，再发布`
        : `版本 ${current.version}：${stateOf(current)}${publishable ? "，可以发布" : ""}`;
  for (const b of list.querySelectorAll("button.version")) {
    const li = b.closest("[data-key]");
    b.setAttribute("aria-pressed", String(li.dataset.key === current?.key && Number(b.dataset.version) === current?.version));
  }
}

async function show(xml, title) {
  const { warnings } = await modeler.importXML(xml);
  if (warnings.length) announce(`流程图中有 ${warnings.length} 处无法识别的内容，保存时会丢失：${warnings[0].message}`, "error");
  fitBesidePalette();
  fillElementPicker();
  document.getElementById("editor-title").textContent = title;
  showProblems([]);
  dirty = false;
}

const UNSAVED = "流程图的修改尚未保存为草稿，确定放弃这些修改？";

async function open(definition) {
  if (dirty && !window.confirm(UNSAVED)) return;
  try {
    const xml = await api("GET", `/definitions/${encodeURIComponent(definition.key)}/versions/${definition.version}/xml`, {
      headers: { Accept: "application/xml" },
    });
    await show(xml, `${definition.name || definition.key} · 版本 ${definition.version}`);
  } catch (err) {
    if (err instanceof Problem) announceProblem(err);
    else announce(`流程图无法打开：${err.message}`, "error");
    return;
  }
  current = definition;
  importBox.hidden = true;
  showState();
}

// A model drawn in canbao, Camunda Modeler or Flowable's designer: opened as it is and validated at
// once, so that the manager sees what the server translates and what it cannot.
async function importFile(file) {
  if (dirty && !window.confirm(UNSAVED)) return;
  try {
    await show(await file.text(), `导入：${file.name}`);
  } catch (err) {
    announce(`文件无法作为 BPMN 打开：${err.message}`, "error");
    return;
  }
  current = { file: file.name };
  showState();
  await validate();
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

const where = (id) => {
  const name = id ? registry.get(id)?.businessObject?.name : null;
  return id ? (name ? `${name}（${id}）` : id) : "整个文档";
};

function showProblems(problems) {
  overlays.remove({ type: "problem" });
  for (const id of marked) canvas.removeMarker(id, "cb-problem");
  marked = [];
  const ul = clear(problemsBox.querySelector("ul"));
  problemsBox.hidden = problems.length === 0;
  const counts = new Map();
  for (const p of problems) {
    const element = p.element_id ? registry.get(p.element_id) : null;
    const label = `${where(p.element_id)}：`;
    ul.append(h("li", { dataset: { element: p.element_id || "" } },
      element ? h("button", { type: "button", class: "link", onclick: () => focusElement(element) }, label) : label,
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

// What the server translated from another engine's attributes, and what it left out.
function showImport(imported) {
  importBox.hidden = !imported;
  if (!imported) return;
  document.getElementById("import-engines").textContent = `按 ${imported.engines.join("、") || "其他引擎"} 的写法转换：转换 ${imported.mapped.length} 项，忽略 ${imported.ignored.length} 项。`;
  clear(document.querySelector("#import-mapped tbody")).append(...imported.mapped.map((m) => h("tr", {},
    h("td", {}, where(m.element_id)), h("td", { class: "mono" }, `${m.attribute}${m.value ? `=${m.value}` : ""}`), h("td", { class: "mono" }, m.to))));
  clear(document.querySelector("#import-ignored tbody")).append(...imported.ignored.map((m) => h("tr", {},
    h("td", {}, where(m.element_id)), h("td", { class: "mono" }, `${m.attribute}${m.value ? `=${m.value}` : ""}`), h("td", {}, m.reason))));
  document.getElementById("import-ignored").hidden = imported.ignored.length === 0;
}

async function currentXml() {
  const { xml } = await modeler.saveXML({ format: true });
  return xml;
}

async function validate() {
  try {
    const result = await api("POST", "/definitions/validate", { xml: await currentXml() });
    showProblems(result.problems);
    showImport(result.imported);
    announce(result.valid ? "校验通过，没有发现问题" : `校验发现 ${result.problems.length} 处问题`, result.valid ? "ok" : "error");
  } catch (err) {
    announceProblem(err);
  }
}

// 保存草稿: a new version that no case starts on until it is published.
async function saveDraft() {
  buttons.draft.disabled = true;
  const imported = Boolean(current?.file);
  try {
    const comment = document.getElementById("comment").value.trim();
    const result = await api("POST", "/definitions", {
      xml: await currentXml(), params: { comment: comment || undefined, publish: "false" },
    });
    dirty = false;
    showProblems([]);
    document.getElementById("comment").value = "";
    current = { ...result, current: false };
    await loadDefinitions();
    if (imported) await open(current); // the stored text, translated into canbao's properties
    document.getElementById("editor-title").textContent = `${result.name || result.key} · 版本 ${result.version}`;
    showState();
    announce(result.created
      ? `已保存草稿：版本 ${result.version}（未发布，新案件仍从当前版本开始）`
      : `内容没有变化，仍为版本 ${result.version}（${stateOf(current)}）`, "ok");
  } catch (err) {
    if (err instanceof Problem && err.problems.length) showProblems(err.problems);
    announceProblem(err);
  } finally {
    showState();
  }
}

// 发布: new cases start on the saved version from now on.
async function publish() {
  const { key, version, name } = current;
  if (!window.confirm(`确定发布 ${name || key} 版本 ${version}？发布后新案件从此版本开始。`)) return;
  buttons.publish.disabled = true;
  try {
    await api("POST", `/definitions/${encodeURIComponent(key)}/versions/${version}/publish`);
    announce(`已发布：${name || key} 版本 ${version}，新案件从此版本开始`, "ok");
  } catch (err) {
    announceProblem(err);
  }
  await loadDefinitions();
}

// The diagram's elements in a list, so that the keyboard reaches every one of them too.
const picker = document.getElementById("element-select");
function fillElementPicker() {
  const elements = registry.filter((e) => e.businessObject?.id === e.id && !["bpmn:Process", "bpmn:Collaboration"].includes(e.type));
  picker.replaceChildren(h("option", { value: "" }, "—"), ...elements.map((e) => h("option", { value: e.id },
    `${e.businessObject.name || "（未命名）"} · ${typeName(e.type)} · ${e.id}`)));
  picker.closest("label").hidden = false;
}
picker.addEventListener("change", () => {
  const element = registry.get(picker.value);
  if (element) focusElement(element);
});

eventBus.on("selection.changed", ({ newSelection }) => {
  picker.value = newSelection.length === 1 && registry.get(newSelection[0].id) ? newSelection[0].id : "";
});
eventBus.on("commandStack.changed", () => {
  if (current && !dirty) {
    dirty = true;
    showState();
  }
});
window.addEventListener("beforeunload", (event) => {
  if (dirty) event.preventDefault();
});
document.getElementById("import-file").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (file) importFile(file);
  event.target.value = "";
});
buttons.validate.addEventListener("click", validate);
buttons.draft.addEventListener("click", saveDraft);
buttons.publish.addEventListener("click", publish);

loadDefinitions().catch(announceProblem);
