// The JSON API, called with the session cookie and the double-submit CSRF header.
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.code = body.code;
    this.title = body.title;
    this.detail = body.detail;
    this.errors = body.errors || [];
    this.problems = body.problems || [];
  }
}

function query(params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) qs.append(key, v);
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export async function api(method, path, { json, xml, form, params, headers } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") init.headers["X-CSRF-Token"] = CSRF;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (xml !== undefined) {
    init.headers["Content-Type"] = "application/xml";
    init.body = xml;
  } else if (form !== undefined) {
    init.body = form; // multipart: the browser writes the Content-Type with its boundary
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}${query(params)}`, init);
  } catch {
    throw new Problem(0, { title: "网络错误", detail: "无法连接服务器，请检查网络后重试" });
  }
  if (response.status === 401) {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}&expired=1`);
    throw new Problem(401, { title: "请先登录", detail: "登录已过期，请重新登录" });
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    const body = type.includes("json") ? await response.json() : { title: `请求失败（${response.status}）` };
    throw new Problem(response.status, body);
  }
  if (response.status === 204) return null;
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, params) => api("GET", path, { params });
export const post = (path, json, options = {}) => api("POST", path, { json, ...options });
