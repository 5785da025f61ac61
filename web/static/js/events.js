// Audit events in words: a Chinese name for each action and a one-line summary of its payload.
import { ROLE_NAMES } from "./ui.js";

export const DECISIONS = { approve: "通过", return: "退回补正", reject: "不予通过" };

export const ACTIONS = {
  "case.start": "发起案件", "case.complete": "案件办结", "case.escalate": "升级处理", "case.migrate": "迁移流程版本",
  "task.ready": "生成待办", "task.claim": "认领任务", "task.unclaim": "退回任务池", "task.assign": "分派任务",
  "task.complete": "办结任务", "task.return": "退回补正", "task.cancel": "撤销待办",
  "gateway.taken": "流转", "timer.fire": "超时触发", "service.run": "自动处理", "person.read": "查阅个人信息",
  "person.list": "查阅人员名单", "registry.store": "入库", "registry.change": "变更入库",
  "registry.field_change": "登记信息变更", "auth.login": "登录", "auth.logout": "退出登录",
  "authorization.grant": "授予审定授权", "authorization.revoke": "撤销审定授权", "report.export": "导出报表",
  "task.remind": "督办提醒", "task.supervise": "超期督办", "task.draft_save": "暂存草稿", "task.draft_delete": "删除草稿",
  "document.add": "上传材料", "document.read": "查看材料", "archive.seal": "归档", "case.read": "查看案件",
  "audit.read": "查看审计记录", "audit.export": "导出经办记录",
};

// Why personal data was read (the `purpose` of a `person.read` event).
export const PURPOSES = {
  list: "列表", task_form: "办理表单", case_view: "案件详情", case_history: "经办过程", history: "变更历史",
  prefill: "预填登记表", missing: "待采集项目", export: "导出", own_record: "本人查询", own_corrections: "本人查询更正申请",
  certificate_print: "打印参保证明", changes: "查看重新提交的变化", draft: "恢复草稿", supervision: "督办列表", audit: "审计",
};

const FORMATS = { "application/pdf": "PDF", "image/jpeg": "JPEG 图片", "image/png": "PNG 图片", "image/tiff": "TIFF 图片" };
const KB = 1024;
const size = (n) => (n >= KB * KB ? `${(n / KB / KB).toFixed(1)} MB` : `${Math.max(1, Math.round(n / KB))} KB`);

// What the case page knows to name things by; each part is optional (the audit page passes none).
//   field(pointer) → a 登记表 field's title; value(pointer, v) → a value as text (a code by its name);
//   element(id) → a BPMN element's name; task(guid) → a task's title; kinds: 材料类别 code → name.
const PLAIN = { field: (p) => p, value: (_p, v) => v, element: () => null, task: () => null, kinds: {} };

const shown = (v) => (v === null || v === undefined || v === "" ? "（空）" : String(v));

// One line saying what the event did, in words: no operation ids, request lines or raw codes.
export function describe(e, context = {}) {
  const ctx = { ...PLAIN, ...context };
  const p = e.payload || {};
  const named = (id) => p.name || ctx.element(id) || "";
  switch (e.action) {
    case "task.complete":
    case "task.return": {
      const d = p.data || {};
      const decision = d.decision ? `：${DECISIONS[d.decision] || d.decision}` : "";
      const items = (d.return_items || []).map(ctx.field).join("、");
      return `${named(p.task)}${decision}${d.reason ? `，${d.reason}` : ""}${items ? `（需补正：${items}）` : ""}`;
    }
    case "task.assign": return `${named(p.task)} → ${p.assignee}`;
    case "task.claim":
    case "task.unclaim":
    case "task.cancel":
    case "task.draft_save":
    case "task.draft_delete":
    case "task.supervise": return named(p.task);
    case "task.remind": return [named(p.task), p.note].filter(Boolean).join("：");
    case "task.ready": return `${named(p.task)}（${ROLE_NAMES[p.role] || p.role || ""}）`;
    case "gateway.taken": return named(p.gateway);
    case "timer.fire": return named(p.event);
    case "service.run": return ctx.element(p.task) || "自动处理";
    case "person.read": return PURPOSES[p.purpose] || "";
    case "case.start": return `流程版本 ${p.version ?? ""}`;
    case "registry.field_change":
      return `${ctx.field(p.field)}：${shown(ctx.value(p.field, p.old))} → ${shown(ctx.value(p.field, p.new))}`;
    case "registry.store": return p.created ? "新增登记" : `更新 ${(p.changes || []).length} 项`;
    case "document.add":
    case "document.read": {
      const what = ctx.kinds[p.kind] || "材料";
      const detail = [FORMATS[p.media_type], p.size ? size(p.size) : null].filter(Boolean).join("，");
      const during = p.task ? ctx.task(p.task) : null;
      return `${what}${detail ? `（${detail}）` : ""}${during ? `，办理“${during}”时上传` : ""}`;
    }
    case "archive.seal": return p.documents !== undefined ? `${p.documents} 份材料归档` : "";
    default: return p.name || ctx.element(p.task) || "";
  }
}
