// The modeler's own words in Chinese: bpmn-js's palette, context pad and menus (the community
// translations of bpmn-js-i18n, completed here for what bpmn-js 18 and the properties panel add), and
// the names of BPMN element types wherever the pages list elements (the element picker, the diff).

export const TYPE_NAMES = {
  Process: "流程",
  Collaboration: "协作",
  Participant: "池",
  Lane: "泳道",
  StartEvent: "开始事件",
  EndEvent: "结束事件",
  IntermediateCatchEvent: "中间捕获事件",
  IntermediateThrowEvent: "中间抛出事件",
  BoundaryEvent: "边界事件",
  Task: "任务",
  UserTask: "用户任务",
  ManualTask: "人工任务",
  ServiceTask: "服务任务",
  ScriptTask: "脚本任务",
  BusinessRuleTask: "业务规则任务",
  SendTask: "发送任务",
  ReceiveTask: "接收任务",
  CallActivity: "调用活动",
  SubProcess: "子流程",
  AdHocSubProcess: "临时子流程",
  Transaction: "事务",
  ExclusiveGateway: "排他网关",
  ParallelGateway: "并行网关",
  InclusiveGateway: "包容网关",
  ComplexGateway: "复杂网关",
  EventBasedGateway: "事件网关",
  SequenceFlow: "顺序流",
  MessageFlow: "消息流",
  Association: "关联",
  DataObjectReference: "数据对象",
  DataStoreReference: "数据存储",
  DataInputAssociation: "数据输入关联",
  DataOutputAssociation: "数据输出关联",
  TextAnnotation: "文本注释",
  Group: "组",
  TimerEventDefinition: "定时",
  MessageEventDefinition: "消息",
  SignalEventDefinition: "信号",
  ErrorEventDefinition: "错误",
  EscalationEventDefinition: "升级",
  ConditionalEventDefinition: "条件",
  CompensateEventDefinition: "补偿",
  TerminateEventDefinition: "终止",
  LinkEventDefinition: "链接",
};

/** "bpmn:UserTask" or "userTask" → 用户任务 (an unknown type as it is, without its prefix). */
export function typeName(type) {
  const local = String(type || "").replace(/^bpmn:/, "");
  return TYPE_NAMES[local.charAt(0).toUpperCase() + local.slice(1)] || local;
}

// The aspects engine/diff.py compares, as a process manager names them.
const FIELD_NAMES = {
  name: "名称",
  type: "类型",
  lane: "泳道",
  documentation: "说明",
  script: "脚本",
  condition: "条件",
  event: "事件",
  "event.timeDuration": "定时时长",
  "event.timeDate": "定时日期",
  "event.timeCycle": "定时周期",
  "@cancelActivity": "中断所附任务",
  "@attachedToRef": "所附任务",
  "@default": "默认流向",
  "@sourceRef": "起点",
  "@targetRef": "终点",
  "property:formKey": "表单",
  "property:dataKey": "数据键",
  "property:role": "岗位",
  "property:dueIn": "办理时限",
  "property:decisions": "审核结论",
  "property:separateFrom": "分人办理",
  "property:duty": "职责",
  "property:authorization": "审定所需授权",
  "property:supervise": "超时督办",
  "property:escalation": "超限处理",
  "serviceTaskOperator@id": "操作",
  "serviceTaskOperator@resultVariable": "结果变量",
  calledDecisionId: "决策",
  preScript: "前置脚本",
  postScript: "后置脚本",
};

/** A compared aspect by its Chinese name ("property:dueIn" → 办理时限), or as it is. */
export function fieldName(field) {
  return FIELD_NAMES[field] || field;
}

const EVENT_KINDS = { Timer: "定时", Message: "消息", Signal: "信号", Error: "错误", Escalation: "升级", Conditional: "条件", Compensate: "补偿", Cancel: "取消", Link: "链接", Terminate: "终止" };

// What bpmn-js-i18n lacks for bpmn-js 18, and the properties panel's words.
const MORE = {
  " + shift + ": " + shift + ",
  "Ad-hoc sub-process": "临时子流程",
  "Align elements": "对齐元素",
  "Change element": "更改元素",
  "Distribute elements horizontally": "水平均匀分布",
  "Distribute elements vertically": "垂直均匀分布",
  "Toggle non-interrupting": "切换为非中断",
  "Append element": "追加元素",
  "Create element": "创建元素",
  "Search in diagram": "在图中搜索",
  "Properties": "属性",
  "General": "常规",
  "Name": "名称",
  "ID": "标识（ID）",
  "Documentation": "说明",
  "Element documentation": "元素说明",
  "Process documentation": "流程说明",
  "Executable": "可执行",
  "Process": "流程",
  "Process name": "流程名称",
  "Process ID": "流程标识",
  "Participant": "池",
  "Timer": "定时",
  "Type": "类型",
  "Value": "值",
  "Date": "日期",
  "Duration": "时长",
  "Cycle": "周期",
  "<none>": "（无）",
  "Message": "消息",
  "Signal": "信号",
  "Error": "错误",
  "Escalation": "升级",
  "Link": "链接",
  "Condition": "条件",
  "Condition expression": "条件表达式",
  "Multi-instance": "多实例",
  "Loop cardinality": "循环次数",
  "Completion condition": "完成条件",
  "Compensation": "补偿",
  "Completion": "完成",
  "ID must not be empty.": "标识不能为空。",
  "ID must be unique.": "标识必须唯一。",
  "ID must not contain spaces.": "标识不能含空格。",
  "ID must not contain prefix.": "标识不能带前缀。",
  "ID must be a valid QName.": "标识必须是合法的 QName。",
  "Add lane above": "在上方添加泳道",
  "Add lane below": "在下方添加泳道",
  "Divide into two lanes": "分成两条泳道",
  "Divide into three lanes": "分成三条泳道",
  "Open {element}": "打开{element}",
  "No results": "没有结果",
  "Search": "搜索",
  "Activate lasso tool": "启动套索工具",
  "Call activity": "调用活动",
  "Receive task": "接收任务",
  "Append receive task": "追加接收任务",
  "Business rule task": "业务规则任务",
  "Section contains edits": "此部分有内容",
  "Section contains an error": "此部分有错误",
  "Toggle section": "展开或收起",
  "Create new list item": "新增",
  "Delete item": "删除",
  "Toggle list item": "展开或收起",
  "Open pop-up editor": "在弹出窗口中编辑",
  "Opened in editor": "已在弹出窗口中编辑",
  "Close pop-up editor": "关闭弹出窗口",
};

// The properties panel's header names an element's concrete type in words ("Timer Boundary Event").
function headerTypes() {
  const words = (name) => name.replace(/(\B[A-Z])/g, " $1");
  const out = {};
  for (const [type, title] of Object.entries(TYPE_NAMES)) out[words(type)] = title;
  for (const [kind, title] of Object.entries(EVENT_KINDS)) {
    for (const event of ["StartEvent", "EndEvent", "BoundaryEvent", "IntermediateCatchEvent", "IntermediateThrowEvent"]) {
      out[words(`${kind}${event}`)] = `${title}${TYPE_NAMES[event]}`;
      out[`${words(`${kind}${event}`)} (Non Interrupting)`] = `非中断${title}${TYPE_NAMES[event]}`;
    }
  }
  return out;
}

/** A bpmn-js `translate` module over the community translations `base` (bpmn-js-i18n's zn). */
export function translateModule(base) {
  const texts = { ...base, ...headerTypes(), ...MORE };
  const translate = (template, replacements = {}) =>
    (texts[template] ?? template).replace(/{([^}]+)}/g, (_, key) => replacements[key] ?? `{${key}}`);
  return { translate: ["value", translate] };
}
