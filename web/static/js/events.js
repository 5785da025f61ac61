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
};

// Why personal data was read (the `purpose` of a `person.read` event).
export const PURPOSES = {
  list: "列表", task_form: "办理表单", case_view: "案件详情", case_history: "经办过程", history: "变更历史",
  prefill: "预填登记表", missing: "待采集项目", export: "导出", own_record: "本人查询", own_corrections: "本人查询更正申请",
  certificate_print: "打印参保证明",
};

// `fieldTitle(pointer)` names a 登记表 field for registry changes.
export function describe(e, fieldTitle = (p) => p) {
  const p = e.payload || {};
  switch (e.action) {
    case "task.complete":
    case "task.return": {
      const d = p.data || {};
      const decision = d.decision ? `：${DECISIONS[d.decision] || d.decision}` : "";
      return `${p.name || p.task || ""}${decision}${d.reason ? `，${d.reason}` : ""}`;
    }
    case "task.assign": return `${p.task || ""} → ${p.assignee}`;
    case "task.ready": return `${p.name || p.task || ""}（${ROLE_NAMES[p.role] || p.role || ""}）`;
    case "gateway.taken": return p.name || p.gateway || "";
    case "service.run": return p.operation || p.task || "";
    case "person.read": return [PURPOSES[p.purpose] || p.purpose, p.route].filter(Boolean).join("，");
    case "case.start": return `版本 ${p.version ?? ""}`;
    case "registry.field_change": return `${fieldTitle(p.field)}：${p.old ?? "（空）"} → ${p.new ?? "（空）"}`;
    case "registry.store": return p.created ? "新增登记" : `更新 ${(p.changes || []).length} 项`;
    default: return p.name || p.task || p.route || "";
  }
}
