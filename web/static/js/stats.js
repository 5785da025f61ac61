// 统计分析: the coverage table by division with drill-down (to child divisions, and from any count to
// the persons behind it), charts of the registration rate and of unenrolled reasons, survey-team
// progress, and the XLSX / CSV reports. Figures come from /api/v1/stats/…, files from /api/v1/reports/….
import { get } from "./api.js";
import { ME, announceProblem, can, clear, h } from "./ui.js";

const form = document.getElementById("controls");
const LEVELS = [["province", 2, "省"], ["city", 4, "市"], ["county", 6, "县（区）"], ["township", 9, "乡镇（街道）"], ["village", 12, "村（社区）"]];
const SEX = { 1: "男", 2: "女", 0: "未知", 9: "未说明" };
const state = { area: ME.area, asOf: "", by: "", group: "registration", groups: {} };
const drill = { indicator: null, area: null, offset: 0 };

// 参保险种 by code (170 → 城乡居民基本养老保险), from the 登记表's code list.
const SCHEMES = new Map();
async function loadSchemes() {
  try {
    const form = await get("/forms/registration");
    for (const o of form.properties.insurance.items.properties.scheme.oneOf || []) SCHEMES.set(o.const, o.title);
  } catch {
    // codes stay as they are
  }
}

const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const num = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN"));

function scope(extra = {}) {
  return { area: state.area || undefined, as_of: state.asOf || undefined, by: state.by || undefined, ...extra };
}

function reportLink(name, ext, label, extra = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(scope(extra))) if (v !== undefined) qs.set(k, v);
  return h("a", { href: `/api/v1/reports/${name}.${ext}?${qs}`, download: "", class: "button" }, label);
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.area !== ME.area) p.set("area", state.area);
  if (state.asOf && state.asOf !== today()) p.set("as_of", state.asOf);
  if (state.by) p.set("by", state.by);
  if (state.group !== "registration") p.set("group", state.group);
  history.replaceState(null, "", p.toString() ? `?${p}` : location.pathname);
}

function byOptions() {
  const select = form.by;
  const deeper = LEVELS.filter(([, n]) => n > state.area.length);
  clear(select).append(h("option", { value: "" }, "下一级区划"), deeper.map(([key, , label]) => h("option", { value: key }, label)));
  select.value = deeper.some(([key]) => key === state.by) ? state.by : "";
  state.by = select.value;
}

async function trail(area) {
  const nav = clear(document.getElementById("trail"));
  const prefixes = LEVELS.map(([, n]) => n).filter((n) => n > ME.area.length && n <= area.length).map((n) => area.slice(0, n));
  const codes = [ME.area, ...prefixes].filter(Boolean);
  const named = codes.length ? (await get("/divisions", { code: codes })).items : [];
  const name = (code) => (code ? named.find((d) => d.code === code)?.name || code : "全国");
  const steps = [ME.area, ...prefixes];
  steps.forEach((code, i) => {
    if (i) nav.append(" › ");
    nav.append(i === steps.length - 1
      ? h("span", { "aria-current": "location" }, name(code))
      : h("button", { type: "button", class: "link", onclick: () => go(code) }, name(code)));
  });
}

function go(area) {
  state.area = area;
  state.by = "";
  drill.indicator = null;
  document.getElementById("drill").hidden = true;
  byOptions();
  load();
}

// A horizontal bar chart as SVG: one bar per item, the value written beside it.
function barChart(items, { label, format, max }) {
  const NS = "http://www.w3.org/2000/svg";
  const rowH = 26;
  const labelW = 230;
  const width = 640;
  const top = max || Math.max(1, ...items.map((i) => i.value || 0));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(1, items.length) * rowH + 8}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${label}：${items.map((i) => `${i.label} ${format(i.value)}`).join("，")}`);
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  items.forEach((item, i) => {
    const y = i * rowH + 4;
    const w = item.value ? Math.max(2, ((width - labelW - 70) * item.value) / top) : 0;
    el("text", { x: labelW - 6, y: y + 16, "text-anchor": "end", class: "chart-label" }, item.label);
    el("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 2, class: "chart-bar", "data-key": item.key });
    el("text", { x: labelW + w + 6, y: y + 16, class: "chart-value" }, format(item.value));
  });
  return svg;
}

function coverageTable(data) {
  const table = document.getElementById("coverage");
  const columns = data.columns.filter((c) => c.group === state.group);
  const deeper = data.by !== "village";
  clear(table.tHead).append(h("tr", {}, h("th", { scope: "col" }, "区划"),
    columns.map((c) => h("th", { scope: "col", title: c.label }, c.label))));
  const cell = (row, c, areaCode) => {
    const v = row[c.key];
    if (c.kind === "rate") return h("td", {}, pct(v));
    if (!c.drill || !v || areaCode === null) return h("td", {}, num(v));
    return h("td", {}, h("button", {
      type: "button", class: "link", "aria-label": `${num(v)} 人：${row.name}${c.label}，查看明细`,
      onclick: () => openDrill(c, areaCode, row.name),
    }, num(v)));
  };
  clear(table.tBodies[0]).append(...data.rows.map((row) => h("tr", { dataset: { code: row.code } },
    h("th", { scope: "row" }, row.unassigned || !deeper
      ? row.name
      : h("button", { type: "button", class: "link", onclick: () => go(row.code) }, row.name)),
    columns.map((c) => cell(row, c, row.unassigned ? null : row.code)))));
  clear(table.tFoot).append(h("tr", {}, h("th", { scope: "row" }, `合计（${data.total.name || "全国"}）`),
    columns.map((c) => cell(data.total, c, state.area))));
}

function groupTabs(data) {
  const box = clear(document.getElementById("groups"));
  const groups = [...new Set(data.columns.map((c) => c.group))];
  if (!groups.includes(state.group)) state.group = groups[0];
  box.append(...groups.map((g) => h("button", {
    type: "button", "aria-pressed": String(g === state.group),
    onclick: () => { state.group = g; writeUrl(); groupTabs(data); coverageTable(data); },
  }, state.groups[g] || g)));
}

async function openDrill(column, area, placeName, more = false) {
  if (!more) Object.assign(drill, { indicator: column.key, label: column.label, area, place: placeName, offset: 0 });
  const section = document.getElementById("drill");
  const tbody = document.querySelector("#drill-table tbody");
  let data;
  try {
    data = await get("/stats/persons", {
      indicator: drill.indicator, area: drill.area ?? state.area, as_of: state.asOf || undefined, limit: 50, offset: drill.offset,
    });
  } catch (err) {
    announceProblem(err);
    return;
  }
  if (!more) clear(tbody);
  tbody.append(...data.items.map((p) => h("tr", {},
    h("td", { class: "mono" }, p.id_number), h("td", {}, p.name), h("td", {}, SEX[p.sex] || p.sex || ""),
    h("td", {}, p.birth_date || ""), h("td", { title: p.area }, p.area_name || p.area),
    h("td", {}, (p.schemes || []).map((code) => SCHEMES.get(code) || code).join("、")),
    h("td", {}, p.uninsured_reason_label || ""))));
  document.getElementById("drill-title").textContent = `人员明细：${drill.place} · ${drill.label}（${data.total} 人）`;
  drill.offset = data.next_offset ?? null;
  document.getElementById("drill-more").hidden = data.next_offset === null || data.next_offset === undefined;
  section.hidden = false;
  if (!more) section.focus();
}

function teamsTable(data) {
  const table = document.getElementById("teams");
  const cols = data.columns;
  clear(table.tHead).append(h("tr", {}, h("th", { scope: "col" }, "调查小组"), h("th", { scope: "col" }, "区划"),
    h("th", { scope: "col" }, "成员"), cols.map((c) => h("th", { scope: "col" }, c.label))));
  const value = (row, c) => h("td", {}, c.kind === "rate" ? pct(row[c.key]) : num(row[c.key]));
  clear(table.tBodies[0]).append(...data.rows.map((row) => h("tr", {},
    h("th", { scope: "row" }, row.name, row.active ? "" : "（已停用）"), h("td", { class: "text" }, row.area_name || row.code),
    h("td", {}, num(row.members)), cols.map((c) => value(row, c)))));
  clear(table.tFoot).append(h("tr", {}, h("th", { scope: "row", colspan: "3" }, "合计"), cols.map((c) => value(data.total, c))));
}

async function load() {
  writeUrl();
  let coverage;
  let reasons;
  let teams;
  try {
    [coverage, reasons, teams] = await Promise.all([
      get("/stats/coverage", scope()),
      get("/stats/unenrolled-reasons", scope()),
      get("/stats/survey-teams", scope({ by: undefined })),
    ]);
  } catch (err) {
    announceProblem(err);
    return;
  }
  await trail(state.area);
  document.getElementById("coverage-title").textContent = `参保登记情况：${coverage.area.name || "全国"}（${coverage.as_of}）`;
  document.getElementById("rule").textContent =
    `统计口径 ${coverage.rule_version}${coverage.rule_status === "proposal" ? "（待确认的提议口径）" : ""}；数据截至 ${new Date(coverage.data_through).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" })}`;
  groupTabs(coverage);
  coverageTable(coverage);

  clear(document.getElementById("rate-chart")).append(barChart(
    coverage.rows.filter((r) => !r.unassigned).map((r) => ({ key: r.code, label: r.name, value: r.registration_rate })),
    { label: "全民参保登记率", format: pct, max: 1 }));
  clear(document.getElementById("reason-chart")).append(barChart(
    reasons.reasons.map((r) => ({ key: r.key, label: r.label, value: reasons.total.reasons[r.key] || 0 })),
    { label: `未参保原因（共 ${reasons.total.uninsured} 人）`, format: (v) => `${num(v)} 人` }));
  teamsTable(teams);

  if (can("stats.export")) {
    clear(document.getElementById("coverage-downloads")).append("下载：",
      reportLink("coverage", "xlsx", "统计表 XLSX"), " ",
      reportLink("coverage", "xlsx", "含人员明细 XLSX", { details: "true" }), " ",
      reportLink("coverage", "csv", "CSV"));
    clear(document.getElementById("reason-downloads")).append("下载：",
      reportLink("unenrolled-reasons", "xlsx", "XLSX"), " ", reportLink("unenrolled-reasons", "csv", "CSV"));
    clear(document.getElementById("team-downloads")).append("下载：",
      reportLink("survey-teams", "xlsx", "XLSX", { by: undefined }));
  }
}

async function init() {
  const p = new URLSearchParams(location.search);
  const area = p.get("area");
  if (area && /^\d+$/.test(area) && area.startsWith(ME.area)) state.area = area;
  state.asOf = /^\d{4}-\d{2}-\d{2}$/.test(p.get("as_of") || "") ? p.get("as_of") : today();
  state.by = p.get("by") || "";
  state.group = p.get("group") || "registration";
  form.as_of.value = state.asOf;
  form.as_of.max = today();
  byOptions();
  try {
    state.groups = (await get("/stats/rules")).groups || {};
  } catch (err) {
    announceProblem(err);
  }
  await loadSchemes();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.asOf = form.as_of.value || today();
    state.by = form.by.value;
    load();
  });
  document.getElementById("drill-more").addEventListener("click", () => openDrill(null, null, null, true));
  await load();
}

init();
