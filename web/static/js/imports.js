// 数据导入: upload with progress, the import records, the precedence table and the department formats.
import { get } from "./api.js";
import { announce, clear, h, timeEl } from "./ui.js";

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const BASE_KINDS = { population: "公安人口信息", enrollments: "参保信息（业务系统）" };
const kinds = { ...BASE_KINDS };

function kindSelect(formats) {
  const select = document.getElementById("kind");
  for (const f of formats) kinds[f.kind] = f.label;
  clear(select);
  for (const [kind, label] of Object.entries(kinds)) select.append(h("option", { value: kind }, label));
  const system = document.getElementById("system-label");
  const toggle = () => { system.hidden = select.value !== "enrollments"; };
  select.addEventListener("change", toggle);
  toggle();
}

function showResult(body) {
  const box = clear(document.getElementById("result"));
  const counts = `共 ${body.total} 行：接受 ${body.accepted}，拒绝 ${body.rejected}；新增 ${body.inserted}，更新 ${body.updated}，未变 ${body.unchanged}`;
  const outranked = body.outranked ? `；${body.outranked} 个字段值因来源优先级较低未采用` : "";
  box.append(h("p", { class: "verdict" }, body.repeated ? `此文件已于导入 ${body.id} 导入过，未作任何更改` : `导入 ${body.id} 完成。${counts}${outranked}`));
  if (body.rejected && !body.repeated) {
    box.append(h("p", {}, h("a", { href: `/api/v1/imports/${body.id}/rejections.csv` }, "下载被拒绝的行及原因")));
  }
}

function showProblem(status, body) {
  const box = clear(document.getElementById("result"));
  box.append(h("p", { class: "verdict" }, `${body.title || `导入失败（${status}）`}${body.detail && body.detail !== body.title ? `：${body.detail}` : ""}`));
  const errors = body.errors || [];
  if (errors.length) box.append(h("ul", {}, errors.map((e) => h("li", {}, `${e.message}（${e.code}）`))));
  announce(body.title || "导入失败", "error");
}

function upload(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  if (data.get("kind") !== "enrollments") data.delete("system");
  const bar = document.getElementById("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/v1/imports");
  xhr.setRequestHeader("X-CSRF-Token", CSRF);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); });
  xhr.addEventListener("load", () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { body = {}; }
    if (xhr.status === 201) {
      showResult(body);
      announce("导入完成", "ok");
      loadImports();
    } else {
      showProblem(xhr.status, body);
    }
  });
  xhr.addEventListener("error", () => {
    bar.hidden = true;
    showProblem(0, { title: "网络错误", detail: "无法连接服务器，请检查网络后重试" });
  });
  announce("正在上传并校验文件…");
  xhr.send(data);
}

async function loadImports() {
  const rows = await get("/imports");
  const body = clear(document.querySelector("#imports tbody"));
  for (const r of rows) {
    body.append(h("tr", {},
      h("td", {}, r.id), h("td", {}, kinds[r.kind] || r.kind), h("td", {}, r.system), h("td", {}, r.filename),
      h("td", {}, r.total), h("td", {}, r.accepted), h("td", {}, r.rejected), h("td", {}, r.inserted),
      h("td", {}, r.updated), h("td", {}, r.unchanged), h("td", {}, timeEl(r.at)),
      h("td", {}, r.rejected ? h("a", { href: `/api/v1/imports/${r.id}/rejections.csv` }, "下载") : "—"),
    ));
  }
}

function showPrecedence(table) {
  const body = clear(document.querySelector("#precedence tbody"));
  for (const f of table.fields) {
    body.append(h("tr", {}, h("th", { scope: "row" }, f.label), h("td", {}, f.sources.join(" ＞ "))));
  }
}

function showFormats(formats) {
  const box = clear(document.getElementById("formats"));
  for (const f of formats) {
    const rows = f.columns.map((c) => h("tr", {},
      h("td", {}, c.headings[0]), h("td", {}, c.headings.slice(1).join("、")), h("td", {}, c.required ? "必填" : ""),
      h("td", {}, c.codes ? Object.entries(c.codes).map(([code, label]) => `${code} ${label}`).join("；") : ""),
    ));
    box.append(h("details", {},
      h("summary", {}, `${f.label}（来源：${f.source}）`),
      h("div", { class: "table-wrap" }, h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, ["列", "也可写作", "", "代码"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      )),
    ));
  }
}

async function main() {
  document.getElementById("upload").addEventListener("submit", upload);
  const [formats, precedence] = await Promise.all([get("/imports/formats"), get("/imports/precedence")]);
  kindSelect(formats);
  showPrecedence(precedence);
  showFormats(formats);
  await loadImports();
}

main();
