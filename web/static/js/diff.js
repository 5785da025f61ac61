// 版本对比: two versions side by side (bpmn-js viewers moving together), the elements added, removed
// and changed marked on them and listed, and the migration of running cases from one to the other.
/* global BpmnJS */
import { Problem, api, get, post } from "./api.js";
import { fieldName, typeName } from "./bpmn_zh.js";
import { announce, announceProblem, clear, h } from "./ui.js";

const key = document.getElementById("main").dataset.key;
const pick = document.getElementById("pick");
const CHANGE = { added: "新增", removed: "删除", changed: "修改" };
const OUTCOMES = {
  pending: "待处理", migrated: "已迁移", movable: "可迁移", refused: "不能迁移", skipped: "已跳过", failed: "失败",
};
const viewers = { left: new BpmnJS({ container: "#left" }), right: new BpmnJS({ container: "#right" }) };

// Moving or zooming one diagram moves the other the same way.
let syncing = false;
for (const [name, viewer] of Object.entries(viewers)) {
  const other = viewers[name === "left" ? "right" : "left"];
  viewer.on("canvas.viewbox.changed", ({ viewbox }) => {
    if (syncing) return;
    syncing = true;
    other.get("canvas").viewbox({ x: viewbox.x, y: viewbox.y, width: viewbox.width, height: viewbox.height });
    syncing = false;
  });
}

async function show(viewer, version, marks) {
  const xml = await api("GET", `/definitions/${encodeURIComponent(key)}/versions/${version}/xml`, {
    headers: { Accept: "application/xml" },
  });
  await viewer.importXML(xml);
  const registry = viewer.get("elementRegistry");
  const canvas = viewer.get("canvas");
  for (const [marker, ids] of Object.entries(marks)) {
    for (const id of ids) if (registry.get(id)) canvas.addMarker(id, marker);
  }
}

// Both diagrams whole and on the same scale, in boxes as tall as the drawings need and no taller than
// the window leaves them, so that the two versions can be compared at a glance at 1366×768.
const PAD = 16;
function fitBoth() {
  const canvases = [viewers.left.get("canvas"), viewers.right.get("canvas")];
  const boxes = canvases.map((c) => c.viewbox().inner);
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  const width = Math.max(...boxes.map((b) => b.x + b.width)) - x;
  const height = Math.max(...boxes.map((b) => b.y + b.height)) - y;
  const containers = ["left", "right"].map((id) => document.getElementById(id));
  const outerWidth = containers[0].clientWidth;
  const room = Math.max(240, window.innerHeight - 140);
  const boxHeight = Math.min(room, Math.ceil((outerWidth - 2 * PAD) * (height / width) + 2 * PAD));
  for (const el of containers) el.style.height = `${boxHeight}px`;
  const scale = Math.min((outerWidth - 2 * PAD) / width, (boxHeight - 2 * PAD) / height);
  const viewWidth = outerWidth / scale;
  const viewHeight = boxHeight / scale;
  for (const c of canvases) {
    c.resized();
    c.viewbox({ x: x - (viewWidth - width) / 2, y: y - (viewHeight - height) / 2, width: viewWidth, height: viewHeight });
  }
}

function changeText(change) {
  return (change.changes || []).map((c) => `${fieldName(c.field)}：${c.from ?? "（无）"} → ${c.to ?? "（无）"}`).join("；");
}

async function compare(from, to) {
  history.replaceState(null, "", `?from=${from}&to=${to}`);
  let diff;
  try {
    diff = await get(`/definitions/${encodeURIComponent(key)}/versions/${from}/diff/${to}`);
  } catch (err) {
    announceProblem(err);
    return;
  }
  const ids = (list) => list.map((c) => c.id);
  syncing = true;
  await show(viewers.left, from, { "cb-removed": ids(diff.removed), "cb-changed": ids(diff.changed) });
  await show(viewers.right, to, { "cb-added": ids(diff.added), "cb-changed": ids(diff.changed) });
  fitBoth();
  syncing = false;
  document.getElementById("left-title").textContent = `原版本 ${from}`;
  document.getElementById("right-title").textContent = `新版本 ${to}`;
  const rows = ["removed", "added", "changed"].flatMap((kind) => diff[kind].map((c) => h("tr", { class: `diff-${kind}` },
    h("td", {}, CHANGE[kind]), h("td", {}, c.name ? `${c.name}（${c.id}）` : c.id), h("td", {}, typeName(c.type)), h("td", {}, changeText(c)))));
  clear(document.querySelector("#changes tbody")).append(...rows);
  document.getElementById("no-changes").hidden = rows.length > 0;
}

function renderJob(job) {
  const done = job.status === "done";
  const c = job.counts;
  const parts = Object.entries(OUTCOMES).filter(([k]) => c[k]).map(([k, label]) => `${label} ${c[k]}`);
  clear(document.getElementById("migration")).append(h("p", { class: done ? "verdict ok" : "verdict" },
    `${job.dry_run ? "试运行" : "迁移"}（版本 ${job.from} → ${job.to}）：${done ? "已完成" : "处理中"}，`
    + `共 ${job.total} 件${parts.length ? `：${parts.join("，")}` : ""}`));
}

async function migrate(event) {
  event.preventDefault();
  const dryRun = event.submitter?.value !== "apply";
  const area = event.target.elements.namedItem("area");
  const areaError = document.getElementById("area-error");
  areaError.hidden = true;
  area.removeAttribute("aria-invalid");
  const from = Number(pick.elements.namedItem("from").value);
  const to = Number(pick.elements.namedItem("to").value);
  if (!dryRun && !window.confirm(`确定把运行中的案件从版本 ${from} 迁移到版本 ${to}？`)) return;
  let job;
  try {
    job = await post(`/definitions/${encodeURIComponent(key)}/migrations`, {
      from, to, dry_run: dryRun, filter: area.value.trim() ? { area: area.value.trim() } : {},
    });
  } catch (err) {
    const onArea = err instanceof Problem && err.errors.find((e) => e.pointer.endsWith("/area"));
    if (onArea) {
      areaError.textContent = onArea.message;
      areaError.hidden = false;
      area.setAttribute("aria-invalid", "true");
    }
    announceProblem(err);
    return;
  }
  renderJob(job);
  while (job.status !== "done") {
    await new Promise((resolve) => setTimeout(resolve, 500));
    job = await get(`/definitions/${encodeURIComponent(key)}/migrations/${job.id}`, { limit: 1000 });
    renderJob(job);
  }
  document.getElementById("migration-wrap").hidden = false;
  clear(document.querySelector("#migration-items tbody")).append(...job.items.map((item) => h("tr", { dataset: { outcome: item.outcome } },
    h("td", {}, h("a", { href: `/cases/${item.case_id}` }, `案件 ${item.case_id}`)),
    h("td", {}, OUTCOMES[item.outcome] || item.outcome), h("td", {}, item.reason || ""))));
  announce(`${dryRun ? "试运行" : "迁移"}完成`, "ok");
}

async function init() {
  let versions;
  try {
    versions = await get(`/definitions/${encodeURIComponent(key)}/versions`);
  } catch (err) {
    announceProblem(err);
    return;
  }
  versions.sort((a, b) => a.version - b.version);
  document.getElementById("diff-title").textContent = `${versions.at(-1).name || key} · 版本对比`;
  for (const name of ["from", "to"]) {
    pick.elements.namedItem(name).append(...versions.map((v) => h("option", { value: v.version },
      `版本 ${v.version}${v.current ? "（当前）" : ""}${v.retired_at ? "（已停用）" : ""}`)));
  }
  const p = new URLSearchParams(location.search);
  const has = (v) => versions.some((x) => String(x.version) === v);
  const from = has(p.get("from")) ? p.get("from") : String(versions.at(-2)?.version ?? versions[0].version);
  const to = has(p.get("to")) ? p.get("to") : String(versions.at(-1).version);
  pick.elements.namedItem("from").value = from;
  pick.elements.namedItem("to").value = to;
  pick.addEventListener("submit", (e) => {
    e.preventDefault();
    compare(pick.elements.namedItem("from").value, pick.elements.namedItem("to").value);
  });
  document.getElementById("migrate").addEventListener("submit", migrate);
  await compare(from, to);
}

init();
