// canbao's properties in the modeler's properties panel, read and written exactly as the engine reads
// them (engine/task_rules.py, engine/chain.py): `spiffworkflow:property` elements under a task's
// extensionElements (formKey, dataKey, role, dueIn, decisions, separateFrom, duty, authorization,
// escalation, supervise), `spiffworkflow:serviceTaskOperator` for a service task's operation,
// `spiffworkflow:calledDecisionId` for a decision, a boundary timer's `cancelActivity` and duration, and a
// lane's name (the role that handles its tasks). The choices offered come from GET /definitions/vocabulary.
/* global CanbaoModeler */
const {
  CheckboxEntry, Group, SelectEntry, TextFieldEntry, h, useService,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextFieldEntryEdited,
} = CanbaoModeler;

const SPIFF = "spiffworkflow";

// The SpiffWorkflow elements canbao's processes carry, so that bpmn-js reads and writes them typed.
export const spiffModdle = {
  name: "SpiffWorkflow",
  prefix: SPIFF,
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
    {
      name: "Property", superClass: ["Element"],
      properties: [{ name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }],
    },
    {
      name: "ServiceTaskOperator", superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "resultVariable", type: "String", isAttr: true },
        { name: "parameters", type: "Parameters" },
      ],
    },
    { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
    {
      name: "Parameter", superClass: ["Element"],
      properties: ["id", "type", "value"].map((name) => ({ name, type: "String", isAttr: true })),
    },
    ...["CalledDecisionId", "PreScript", "PostScript"].map((name) => ({
      name, superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }],
    })),
  ],
};

let vocabulary = { forms: [], roles: [], operations: [], duties: [], authorizations: [], decisions: [] };
export function useVocabulary(v) {
  vocabulary = v;
}

const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const TIMEOUT = /^timeouts\.get\((["'][^"']+["']),\s*["']([^"']*)["']\)$/;
const QUOTED = /^["']([^"']*)["']$/;

const is = (bo, type) => Boolean(bo?.$instanceOf?.(type));
const extensions = (bo, type) => (bo.get("extensionElements")?.get("values") || []).filter((v) => is(v, type));

export function property(bo, name) {
  const [container] = extensions(bo, `${SPIFF}:Properties`);
  return container?.get("properties").find((p) => p.name === name)?.value;
}

// The role a lane name or `role` property names (by code, title or a former name), as its title.
function roleTitle(name) {
  return vocabulary.roles.find((r) => r.key === name || r.title === name || r.former_names.includes(name))?.title;
}

// The commands that give `element` an extension of `type` (the existing one, or a new one with `attrs`).
function ensureExtension(element, type, attrs, bpmnFactory) {
  const bo = element.businessObject;
  const commands = [];
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let found = ext.get("values").find((v) => is(v, type));
  if (!found) {
    found = bpmnFactory.create(type, attrs);
    found.$parent = ext;
    commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: ext, properties: { values: [...ext.get("values"), found] } } });
  }
  return { commands, found };
}

function setProperty(services, element, name, value) {
  const { bpmnFactory, commandStack } = services;
  const { commands, found: container } = ensureExtension(element, `${SPIFF}:Properties`, { properties: [] }, bpmnFactory);
  const all = container.get("properties");
  const existing = all.find((p) => p.name === name);
  const update = (moddleElement, properties) => commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement, properties } });
  if (value === undefined || value === "") {
    if (!existing) return;
    update(container, { properties: all.filter((p) => p !== existing) });
  } else if (existing) {
    update(existing, { value });
  } else {
    const created = bpmnFactory.create(`${SPIFF}:Property`, { name, value });
    created.$parent = container;
    update(container, { properties: [...all, created] });
  }
  commandStack.execute("properties-panel.multi-command-executor", commands);
}

function useServices() {
  return {
    bpmnFactory: useService("bpmnFactory"), commandStack: useService("commandStack"),
    modeling: useService("modeling"), debounce: useService("debounceInput"),
  };
}

// A text `spiffworkflow:property`; an empty value removes it.
function PropertyText({ element, id, name, label, description, validate }) {
  const services = useServices();
  return h(TextFieldEntry, {
    element, id, label, description, debounce: services.debounce, validate,
    getValue: () => property(element.businessObject, name) || "",
    setValue: (value, error) => !error && setProperty(services, element, name, value.trim()),
  });
}

// A `spiffworkflow:property` chosen from a list; a value not in the list is kept and shown as it is.
function PropertySelect({ element, id, name, label, description, choices, none = "（不指定）" }) {
  const services = useServices();
  return h(SelectEntry, {
    element, id, label, description,
    getValue: () => property(element.businessObject, name) || "",
    setValue: (value) => setProperty(services, element, name, value),
    getOptions: () => {
      const current = property(element.businessObject, name);
      const options = [{ value: "", label: none }, ...choices().map((c) => ({ value: c.key, label: `${c.title}（${c.key}）` }))];
      return current && !options.some((o) => o.value === current) ? [...options, { value: current, label: `${current}（未知）` }] : options;
    },
  });
}

function PropertyFlag({ element, id, name, label }) {
  const services = useServices();
  return h(CheckboxEntry, {
    element, id, label,
    getValue: () => property(element.businessObject, name) === "true",
    setValue: (on) => setProperty(services, element, name, on ? "true" : ""),
  });
}

// One checkbox per review decision, written together as `decisions="approve,return"`.
function Decision({ element, id, decision, label }) {
  const services = useServices();
  const chosen = () => (property(element.businessObject, "decisions") || "").split(",").filter(Boolean);
  return h(CheckboxEntry, {
    element, id, label,
    getValue: () => chosen().includes(decision),
    setValue: (on) => {
      const keep = new Set(chosen().filter((d) => d !== decision).concat(on ? [decision] : []));
      setProperty(services, element, "decisions", vocabulary.decisions.map((d) => d.key).filter((d) => keep.has(d)).join(","));
    },
  });
}

// A task's lane: the innermost lane listing it, as the engine reads lanes.
function laneOf(element) {
  const bo = element.businessObject;
  const walk = (lanes) => lanes.flatMap((lane) => [lane, ...walk(lane.childLaneSet?.lanes || [])]);
  const all = walk((bo.$parent?.laneSets || []).flatMap((s) => s.lanes || []));
  return all.filter((lane) => (lane.flowNodeRef || []).includes(bo)).at(-1);
}

function RoleSelect({ element, id }) {
  const services = useServices();
  const lane = laneOf(element);
  const laneRole = roleTitle(lane?.name || "");
  return h(SelectEntry, {
    element, id, label: "岗位",
    description: lane
      ? `所在泳道“${lane.name || "（未命名）"}”${laneRole ? `：由${laneRole}办理；另指定岗位须与泳道一致` : "不是已知岗位，请指定岗位"}`
      : "不在泳道中，请指定岗位",
    getValue: () => property(element.businessObject, "role") || "",
    setValue: (value) => setProperty(services, element, "role", value),
    getOptions: () => [
      { value: "", label: laneRole ? `按泳道（${laneRole}）` : "（不指定）" },
      ...vocabulary.roles.map((r) => ({ value: r.key, label: r.title })),
    ],
  });
}

function SeparateFrom({ element, id }) {
  const others = () => element.businessObject.$parent.get("flowElements")
    .filter((e) => (is(e, "bpmn:UserTask") || is(e, "bpmn:ManualTask")) && e !== element.businessObject)
    .map((e) => ({ key: e.id, title: e.name || e.id }));
  return h(PropertySelect, {
    element, id, name: "separateFrom", label: "分人办理（不得由此任务的办理人办理）", choices: others, none: "（不要求）",
  });
}

function Operation({ element, id }) {
  const { bpmnFactory, commandStack } = useServices();
  const operator = () => extensions(element.businessObject, `${SPIFF}:ServiceTaskOperator`)[0];
  return h(SelectEntry, {
    element, id, label: "操作", description: "服务任务只能调用登记在册的操作",
    getValue: () => operator()?.id || "",
    setValue: (value) => {
      const parameters = bpmnFactory.create(`${SPIFF}:Parameters`, { parameters: [] });
      const { commands, found } = ensureExtension(element, `${SPIFF}:ServiceTaskOperator`, { id: value, parameters }, bpmnFactory);
      parameters.$parent = found;
      if (found.id !== value) commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: found, properties: { id: value } } });
      commandStack.execute("properties-panel.multi-command-executor", commands);
    },
    getOptions: () => {
      const current = operator()?.id;
      const options = [{ value: "", label: "（未指定）" }, ...vocabulary.operations.map((o) => ({ value: o.key, label: `${o.title}（${o.key}）` }))];
      return current && !options.some((o) => o.value === current) ? [...options, { value: current, label: `${current}（未登记）` }] : options;
    },
  });
}

function ResultVariable({ element, id }) {
  const { commandStack, debounce } = useServices();
  const operator = () => extensions(element.businessObject, `${SPIFF}:ServiceTaskOperator`)[0];
  return h(TextFieldEntry, {
    element, id, label: "结果变量", debounce, description: "操作的结果存入案件数据的这个变量",
    getValue: () => operator()?.resultVariable || "",
    setValue: (value) => operator() && commandStack.execute("element.updateModdleProperties", {
      element, moddleElement: operator(), properties: { resultVariable: value.trim() || undefined },
    }),
  });
}

function CalledDecision({ element, id }) {
  const { bpmnFactory, commandStack, debounce } = useServices();
  const called = () => extensions(element.businessObject, `${SPIFF}:CalledDecisionId`)[0];
  return h(TextFieldEntry, {
    element, id, label: "决策（DMN decision id）", debounce, description: "定义该决策的 DMN 文件须随流程一并上传",
    getValue: () => called()?.value || "",
    setValue: (value) => {
      const { commands, found } = ensureExtension(element, `${SPIFF}:CalledDecisionId`, { value: value.trim() }, bpmnFactory);
      if (found.value !== value.trim()) commands.push({ cmd: "element.updateModdleProperties", context: { element, moddleElement: found, properties: { value: value.trim() } } });
      commandStack.execute("properties-panel.multi-command-executor", commands);
    },
  });
}

const timerOf = (bo) => (bo.get("eventDefinitions") || []).find((d) => is(d, "bpmn:TimerEventDefinition"));

// The duration of a boundary timer as canbao writes it: `timeouts.get("task", "P5D")` (a case may carry
// its own time limit) or a quoted ISO 8601 duration; other expressions are edited in the 定时 group.
function TimerDuration({ element, id }) {
  const { bpmnFactory, commandStack, debounce } = useServices();
  const expression = () => timerOf(element.businessObject)?.timeDuration?.body?.trim() || "";
  const parts = () => TIMEOUT.exec(expression()) || QUOTED.exec(expression());
  return h(TextFieldEntry, {
    element, id, label: "时限（ISO 8601 时长，如 P5D）", debounce,
    description: "超过此时长仍未办理时触发；案件数据 timeouts 中可为该任务另设时限",
    disabled: Boolean(expression()) && !parts(),
    getValue: () => { const m = parts(); return m ? m.at(-1) : ""; },
    validate: (value) => (value && !ISO_DURATION.test(value) ? "应为 ISO 8601 时长，如 P5D、PT48H" : null),
    setValue: (value, error) => {
      const timer = timerOf(element.businessObject);
      if (error || !timer) return;
      const m = TIMEOUT.exec(expression());
      const task = m ? m[1] : JSON.stringify(element.businessObject.attachedToRef?.id || element.id);
      const body = `timeouts.get(${task}, ${JSON.stringify(value)})`;
      if (timer.timeDuration) {
        commandStack.execute("element.updateModdleProperties", { element, moddleElement: timer.timeDuration, properties: { body } });
      } else {
        const timeDuration = bpmnFactory.create("bpmn:FormalExpression", { body });
        timeDuration.$parent = timer;
        commandStack.execute("element.updateModdleProperties", { element, moddleElement: timer, properties: { timeDuration } });
      }
    },
  });
}

function Interrupting({ element, id }) {
  const { modeling } = useServices();
  return h(CheckboxEntry, {
    element, id, label: "中断所附任务（不勾选：任务照常办理）",
    getValue: () => element.businessObject.cancelActivity !== false,
    setValue: (on) => modeling.updateProperties(element, { cancelActivity: on }),
  });
}

function LaneRole({ element, id }) {
  const { modeling } = useServices();
  return h(SelectEntry, {
    element, id, label: "泳道岗位", description: "泳道中的用户任务由此岗位办理（泳道名称即岗位名称）",
    getValue: () => roleTitle(element.businessObject.name || "") || "",
    setValue: (title) => title && modeling.updateProperties(element, { name: title }),
    getOptions: () => [
      ...(roleTitle(element.businessObject.name || "") ? [] : [{ value: "", label: `${element.businessObject.name || "（未命名）"}（不是已知岗位）` }]),
      ...vocabulary.roles.map((r) => ({ value: r.title, label: r.title })),
    ],
  });
}

const text = (id, name, label, description, validate) => ({ id, name, label, description, validate, component: PropertyText, isEdited: isTextFieldEntryEdited });
const select = (id, name, label, choices, description) => ({ id, name, label, choices, description, component: PropertySelect, isEdited: isSelectEntryEdited });
const entry = (id, component, isEdited, extra = {}) => ({ id, component, isEdited, ...extra });
const dueValid = (value) => (value && !ISO_DURATION.test(value) ? "应为 ISO 8601 时长，如 P10D、PT48H" : null);

function entriesFor(element) {
  const bo = element.businessObject;
  if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) {
    return [
      select("cb-formKey", "formKey", "表单", () => vocabulary.forms),
      text("cb-dataKey", "dataKey", "数据键", "表单数据存入案件数据的这个键，流转条件以此引用（如 initial_review[\"decision\"]）"),
      entry("cb-role", RoleSelect, isSelectEntryEdited),
      text("cb-dueIn", "dueIn", "办理时限（ISO 8601 时长，如 P10D）", "未指定时为 P30D", dueValid),
      ...vocabulary.decisions.map((d) => entry(`cb-decision-${d.key}`, Decision, isCheckboxEntryEdited, { decision: d.key, label: `审核结论：${d.title}` })),
      entry("cb-separateFrom", SeparateFrom, isSelectEntryEdited),
      select("cb-duty", "duty", "职责（规程要求的审核环节）", () => vocabulary.duties),
      select("cb-authorization", "authorization", "审定所需授权", () => vocabulary.authorizations),
      entry("cb-escalation", PropertyFlag, isCheckboxEntryEdited, { name: "escalation", label: "退回超限后的处理任务" }),
    ];
  }
  if (is(bo, "bpmn:ServiceTask")) {
    return [entry("cb-operation", Operation, isSelectEntryEdited), entry("cb-resultVariable", ResultVariable, isTextFieldEntryEdited)];
  }
  if (is(bo, "bpmn:BusinessRuleTask")) return [entry("cb-decision", CalledDecision, isTextFieldEntryEdited)];
  if (is(bo, "bpmn:BoundaryEvent") && timerOf(bo)) {
    return [
      entry("cb-timer-duration", TimerDuration, isTextFieldEntryEdited),
      entry("cb-interrupting", Interrupting, isCheckboxEntryEdited),
      entry("cb-supervise", PropertyFlag, isCheckboxEntryEdited, { name: "supervise", label: "超时督办（记入督办，任务留在原处）" }),
    ];
  }
  if (is(bo, "bpmn:Lane")) return [entry("cb-lane-role", LaneRole, isSelectEntryEdited)];
  return [];
}

class CanbaoPropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return (groups) => {
      const entries = entriesFor(element).map((e) => ({ ...e, element }));
      if (entries.length) groups.splice(1, 0, { id: "canbao", label: "参保登记属性", entries, component: Group });
      return groups;
    };
  }
}
CanbaoPropertiesProvider.$inject = ["propertiesPanel"];

export const canbaoPropertiesModule = {
  __init__: ["canbaoPropertiesProvider"],
  canbaoPropertiesProvider: ["type", CanbaoPropertiesProvider],
};
