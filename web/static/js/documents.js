// 材料: the scanned paperwork of a case (登记表, ID card, 户口簿 …), listed and, where the user works
// the case, uploaded. Files go to the archive through POST /api/v1/cases/{id}/documents.
import { api, get } from "./api.js";
import { announce, announceProblem, clear, h, time } from "./ui.js";

const KB = 1024;
const size = (n) => (n >= KB * KB ? `${(n / KB / KB).toFixed(1)} MB` : `${Math.max(1, Math.round(n / KB))} KB`);

const DAY = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
});

// The last day of a retention period that ends at `iso` (00:00 on a 1 January, China time).
const lastDay = (iso) => DAY.format(new Date(Date.parse(iso) - 1));

// The documents, and once the case is archived (归档), its 档号 and retention.
function list(items, pkg) {
  const archived = pkg && h("p", { class: "archived", id: "archive-package" },
    `已归档，档号 ${pkg.archive_no}（${pkg.title}），${pkg.retention}，保管至 ${lastDay(pkg.retain_until)}`);
  if (!items.length) return h("div", {}, archived, h("p", { class: "muted" }, "尚未上传材料。"));
  return h("div", {}, archived, h("ul", { class: "documents" }, items.map((d) => h("li", { dataset: { kind: d.kind } },
    h("a", { href: d.href, target: "_blank", rel: "noopener" }, `${d.kind_title}（${size(d.size)}）`),
    h("span", { class: "sub" }, ` ${d.uploaded_by}，${time(d.uploaded_at)}`,
      d.sealed_at ? `；已归档，保管至 ${d.retain_until ? lastDay(d.retain_until) : "长期"}` : ""),
    h("div", { class: "sub mono", title: "SHA-256" }, d.sha256.slice(0, 16))))));
}

// The documents of a case in `box`; with `kinds` (code → 名称) and `maxBytes`, an upload form too.
export async function documents(box, caseId, { kinds = null, maxBytes = 0 } = {}) {
  const listBox = h("div", {});
  const refresh = async () => {
    try {
      const found = await get(`/cases/${caseId}/documents`);
      clear(listBox).append(list(found.items, found.package));
    } catch (err) {
      announceProblem(err);
    }
  };
  clear(box).append(listBox);
  await refresh();
  if (!kinds) return;

  const error = h("p", { class: "field-error", id: "file-error", hidden: true });
  const kind = h("select", { id: "doc-kind", name: "kind", required: true },
    h("option", { value: "" }, "请选择"), Object.entries(kinds).map(([code, title]) => h("option", { value: code }, title)));
  const file = h("input", {
    id: "doc-file", name: "file", type: "file", accept: "application/pdf,image/jpeg,image/png,image/tiff",
    "aria-describedby": "file-hint file-error",
  });
  const button = h("button", { type: "submit" }, "上传");
  const form = h("form", { class: "upload row", "aria-label": "上传材料" },
    h("label", { for: "doc-kind" }, "材料类别"), kind,
    h("label", { for: "doc-file" }, "扫描件"), file, button,
    h("p", { class: "hint", id: "file-hint" }, `PDF、JPEG、PNG 或 TIFF，不超过 ${size(maxBytes)}。`), error);
  const fail = (message, target = file) => {
    error.textContent = message;
    error.hidden = false;
    target.setAttribute("aria-invalid", "true");
    target.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    kind.removeAttribute("aria-invalid");
    file.removeAttribute("aria-invalid");
    const chosen = file.files[0];
    if (!kind.value) return fail("请选择材料类别", kind);
    if (!chosen) return fail("请选择要上传的文件");
    if (maxBytes && chosen.size > maxBytes) return fail(`文件不能超过 ${size(maxBytes)}`);
    const body = new FormData();
    body.append("kind", kind.value);
    body.append("file", chosen);
    button.disabled = true;
    try {
      const doc = await api("POST", `/cases/${caseId}/documents`, { form: body });
      announce(`已上传：${doc.kind_title}（${size(doc.size)}）`, "ok");
      form.reset();
      await refresh();
    } catch (err) {
      const field = err.errors?.find((e) => e.pointer === "/file" || e.pointer === "/kind");
      if (field) fail(field.message, field.pointer === "/kind" ? kind : file);
      else fail(err.detail || err.title);
      announceProblem(err);
    } finally {
      button.disabled = false;
    }
  });
  box.append(form);
}
