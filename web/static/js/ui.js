// Small DOM helpers. Text always goes in as text nodes, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hour12: false,
});

export const time = (iso) => (iso ? TIME.format(new Date(iso)) : "");

export function timeEl(iso) {
  return h("time", { datetime: iso }, time(iso));
}

export function announce(message, kind = "info") {
  const box = document.getElementById("status");
  if (!box) return;
  clear(box);
  box.className = `status status-${kind}`;
  box.append(h("p", {}, message));
}

export function announceProblem(problem) {
  announce(problem.detail && problem.detail !== problem.title ? `${problem.title}：${problem.detail}` : problem.title || problem.message, "error");
}

// A message to show on the next page (after a redirect).
export function flash(message) {
  sessionStorage.setItem("canbao.flash", message);
}

export function showFlash() {
  const message = sessionStorage.getItem("canbao.flash");
  if (message) {
    sessionStorage.removeItem("canbao.flash");
    announce(message, "ok");
  }
}

export const ME = {
  sub: document.body.dataset.user,
  roles: (document.body.dataset.roles || "").split(",").filter(Boolean),
  area: document.body.dataset.area,
};

// The API operations this user's roles allow (api/policy.py), to offer only actions that can succeed.
const ALLOWED = new Set((document.body.dataset.can || "").split(" ").filter(Boolean));
export const can = (operation) => ALLOWED.has(operation);

export const ROLE_NAMES = {
  surveyor: "调查员", platform_reviewer: "基层平台", counter_clerk: "窗口经办", county_approver: "县级经办机构",
  city_admin: "市级经办机构", city_hrss: "市级人社部门", province_admin: "省级人力资源社会保障部门",
  ministry: "人力资源社会保障部", process_manager: "流程管理员", auditor: "审计员", citizen: "单位或个人", system: "系统",
};

export const CASE_STATUS = { running: "办理中", waiting: "等待中", completed: "已办结" };

// Process names by key, from the deployed definitions (the latest version's name).
let processNames;
export async function processes(get) {
  if (!processNames) {
    processNames = !can("definitions.read") ? Promise.resolve(new Map()) : get("/definitions").then((rows) => {
      const names = new Map();
      for (const row of rows) names.set(row.key, row.name || row.key);
      return names;
    }).catch(() => new Map());
  }
  return processNames;
}

// Division names for codes shown in lists, fetched in one request per page.
const divisionNames = new Map();
export async function divisionPaths(get, codes) {
  const missing = [...new Set(codes.filter((c) => /^\d{2,12}$/.test(c || "") && !divisionNames.has(c)))];
  if (missing.length) {
    const { items } = await get("/divisions", { code: missing });
    for (const item of items) divisionNames.set(item.code, item.path);
    for (const code of missing) if (!divisionNames.has(code)) divisionNames.set(code, "");
  }
  return divisionNames;
}

export function divisionCell(code, names) {
  const name = names.get(code);
  return name ? h("span", { title: code }, name) : h("span", {}, code || "");
}

// The badge of a missing or inaccurate item of a person's record (GET /persons/{id}/missing).
export function itemBadge(item) {
  if (item.code?.startsWith("self_reported.")) return h("span", { class: "badge badge-warn" }, "待核实");
  return item.kind === "wrong" ? h("span", { class: "badge badge-bad" }, "不准") : h("span", { class: "badge badge-warn" }, "缺失");
}
