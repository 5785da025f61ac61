// Forms rendered from the API's JSON Schemas (GET /api/v1/forms/{key}): code lists (`oneOf` const/title)
// as selects, `x-division` fields as division pickers, objects as fieldsets, arrays as repeatable groups.
// Hints from the schema (required, length, pattern) show as the user leaves a field; the server's
// field errors (problem+json `errors[].pointer`) show next to the field they name.
import { divisionPicker } from "./division.js";
import { clear, h } from "./ui.js";

let uid = 0;
const nextId = () => `f${++uid}`;

const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
const isObject = (s) => s.type === "object" && s.properties;
const codeList = (s) => Array.isArray(s.oneOf) && s.oneOf.length > 0 && s.oneOf.every((o) => "const" in o);
// The "*" of a required field; hidden, not absent, so that a condition (`if`/`then`) can show it.
const star = (required) => h("span", { class: "req", "aria-hidden": "true", hidden: !required }, " *");
// A schema's `if` of the form {properties: {key: {enum | const}}, required: [key]} against a value.
function holds(cond, value) {
  for (const [key, s] of Object.entries(cond.properties || {})) {
    const v = value?.[key];
    if (v === undefined) return false;
    if (s.enum && !s.enum.includes(v)) return false;
    if ("const" in s && s.const !== v) return false;
  }
  return (cond.required || []).every((key) => value?.[key] !== undefined);
}
const lastKey = (pointer) => pointer.slice(pointer.lastIndexOf("/") + 1);
const parentOf = (pointer) => pointer.slice(0, pointer.lastIndexOf("/"));

function hintFor(schema, raw, required, title) {
  if (raw === "") return required ? `${title}：必填` : null;
  if (schema.type !== "string") return null;
  const chars = [...raw].length;
  if (schema.minLength && chars < schema.minLength) return `${title}：至少 ${schema.minLength} 个字符`;
  if (schema.maxLength && chars > schema.maxLength) return `${title}：最多 ${schema.maxLength} 个字符`;
  if (schema.pattern) {
    let re;
    try {
      re = new RegExp(schema.pattern, "u");
    } catch {
      return null; // a pattern this browser cannot compile is left to the server
    }
    if (!re.test(raw)) return schema["x-messages"]?.pattern || `${title}：格式不正确`;
  }
  return null;
}

class FormView {
  constructor(schema, value, { flagged = [], suggest = [] } = {}) {
    this.nodes = new Map();
    this.flagged = new Set(flagged);
    // [{match: RegExp on the pointer, values: [[value, label], …]}]: a list of values offered while typing
    this.suggest = suggest.map((rule) => ({ ...rule, list: null }));
    this.lists = h("div", { hidden: true });
    this.summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
    this.root = this.objectNode(schema, "", value || {}, true);
    this.element = h("div", { class: "schema-form" }, this.summary, this.root.element, this.lists);
  }

  register(node) {
    this.nodes.set(node.pointer, node);
    return node;
  }

  node(schema, pointer, value, required) {
    if (isObject(schema)) return this.objectNode(schema, pointer, value, required);
    if (schema.type === "array") return this.arrayNode(schema, pointer, value, required);
    return this.scalarNode(schema, pointer, value, required);
  }

  errorSlot() {
    return h("p", { class: "field-error", id: nextId(), hidden: true });
  }

  flag(pointer) {
    return this.flagged.has(pointer) && h("span", { class: "badge badge-warn" }, "需补正");
  }

  objectNode(schema, pointer, value, required, legend = schema.title) {
    const required_ = new Set(schema.required || []);
    const error = this.errorSlot();
    const children = Object.entries(schema.properties).map(([key, child]) =>
      this.node(child, `${pointer}/${key}`, value?.[key], required_.has(key)));
    const body = h("div", { class: "fields" }, children.map((c) => c.element));
    const isRoot = pointer === "";
    const mark = star(required);
    const element = isRoot
      ? h("div", { class: "form-root" }, error, body)
      : h("fieldset", { class: "group", dataset: { pointer } },
        h("legend", {}, legend, mark, this.flag(pointer)),
        schema.description && h("p", { class: "hint" }, schema.description), error, body);
    const node = this.register({
      pointer, element, children, focus: () => (children[0]?.focus ? children[0].focus() : element.focus()),
      setRequired: (on) => { mark.hidden = !on; },
      get: () => {
        const out = {};
        for (const c of children) {
          const v = c.get();
          if (v !== undefined) out[lastKey(c.pointer)] = v;
        }
        return Object.keys(out).length || isRoot ? out : undefined;
      },
      setError: (message) => this.showAt(error, element, message),
      clearError: () => this.hideAt(error, element),
    });
    // Fields the server requires only under a condition (入户调查: 调查小组, 调查员, 本人签字确认) are
    // marked required while the condition holds.
    if (schema.if && schema.then?.required) {
      const update = () => {
        const on = holds(schema.if, node.get() || {});
        for (const c of children) if (schema.then.required.includes(lastKey(c.pointer))) c.setRequired(on || required_.has(lastKey(c.pointer)));
      };
      body.addEventListener("change", update);
      update();
    }
    return node;
  }

  arrayNode(schema, pointer, value, required) {
    const items = schema.items || {};
    const error = this.errorSlot();
    const list = h("div", { class: "items" });
    const itemTitle = items.title || "项";
    const add = h("button", { type: "button", class: "add" }, `添加${itemTitle}`);
    const mark = star(required);
    const element = h("fieldset", { class: "group array", dataset: { pointer } },
      h("legend", {}, schema.title || lastKey(pointer), mark, this.flag(pointer)),
      schema.description && h("p", { class: "hint" }, schema.description), error, list, add);
    let nodes = [];

    const build = (values) => {
      for (const n of nodes) this.forget(n);
      clear(list);
      nodes = values.map((v, i) => {
        const p = `${pointer}/${i}`;
        const n = isObject(items)
          ? this.objectNode(items, p, v, false, `${itemTitle} ${i + 1}`)
          : this.scalarNode({ ...items, title: `${itemTitle} ${i + 1}` }, p, v, true);
        const remove = h("button", { type: "button", class: "remove" }, `删除${itemTitle} ${i + 1}`);
        remove.addEventListener("click", () => {
          const current = nodes.map((x) => x.get());
          current.splice(i, 1);
          build(current);
          (nodes[Math.min(i, nodes.length - 1)]?.element.querySelector("input,select,textarea") || add).focus();
        });
        if (isObject(items)) n.element.querySelector("legend").after(remove);
        else n.element.append(remove);
        return n;
      });
      list.append(...nodes.map((n) => n.element));
      add.disabled = schema.maxItems !== undefined && nodes.length >= schema.maxItems;
    };
    add.addEventListener("click", () => {
      build([...nodes.map((x) => x.get()), undefined]);
      nodes.at(-1).element.querySelector("input,select,textarea")?.focus();
    });
    build(Array.isArray(value) ? value : []);

    return this.register({
      pointer, element, focus: () => (nodes[0] ? nodes[0].focus() : add.focus()),
      get children() {
        return nodes;
      },
      setRequired: (on) => { mark.hidden = !on; },
      get: () => {
        if (!nodes.length) return undefined;
        return nodes.map((n) => n.get() ?? (isObject(items) ? {} : ""));
      },
      setError: (message) => this.showAt(error, element, message),
      clearError: () => this.hideAt(error, element),
    });
  }

  forget(node) {
    this.nodes.delete(node.pointer);
    for (const child of node.children || []) this.forget(child);
  }

  scalarNode(schema, pointer, value, requiredAtFirst) {
    let required = requiredAtFirst;
    const id = nextId();
    const title = schema.title || lastKey(pointer);
    const error = this.errorSlot();
    const hint = schema.description ? h("p", { class: "hint", id: `${id}-hint` }, schema.description) : null;
    const describedBy = [hint && hint.id, error.id].filter(Boolean).join(" ");
    const common = { id, name: pointer, "aria-describedby": describedBy, "aria-required": required ? "true" : undefined };
    let control;
    let input;
    let picker;
    if (schema["x-division"]) {
      picker = divisionPicker({
        id, title, level: schema["x-division"].level, accept: schema["x-division"].accept || [], describedBy,
        value: typeof value === "string" ? value : "",
      });
      control = picker.element;
      input = picker.input;
      if (required) input.setAttribute("aria-required", "true");
      input.name = pointer;
    } else if (codeList(schema)) {
      input = control = h("select", common, h("option", { value: "" }, "请选择"),
        schema.oneOf.map((o) => h("option", { value: o.const }, o.title || o.const)));
    } else if (schema.type === "boolean") {
      input = control = h("select", common, h("option", { value: "" }, "请选择"),
        h("option", { value: "true" }, "是"), h("option", { value: "false" }, "否"));
    } else if (schema["x-multiline"]) {
      input = control = h("textarea", { ...common, rows: "3", maxlength: schema.maxLength });
    } else {
      const type = schema.format === "date" ? "date"
        : schema.type === "integer" || schema.type === "number" ? "number"
          : schema["x-check"] === "phone" ? "tel" : "text";
      input = control = h("input", {
        ...common, type, maxlength: schema.maxLength, autocomplete: "off", spellcheck: "false",
        inputmode: type === "number" ? "numeric" : undefined,
        max: type === "date" && schema["x-not-future"] ? today() : undefined,
      });
    }
    if (!picker && value !== undefined && value !== null) input.value = String(value);
    const rule = this.suggest.find((r) => r.match.test(pointer));
    if (rule && input.tagName === "INPUT") {
      if (!rule.list) {
        rule.list = h("datalist", { id: nextId() }, rule.values.map(([v, label]) => h("option", { value: v }, label)));
        this.lists.append(rule.list);
      }
      input.setAttribute("list", rule.list.id);
    }
    const mark = star(required);
    const element = h("div", { class: `field${this.flagged.has(pointer) ? " flagged" : ""}`, dataset: { pointer } },
      h("label", { for: id }, title, mark, this.flag(pointer)),
      control, hint, error);
    const raw = () => (picker ? picker.get() : input.value.trim());
    const node = this.register({
      pointer, element, input, focus: () => input.focus(),
      get: () => {
        const v = raw();
        if (v === "") return undefined;
        if (schema.type === "boolean") return v === "true";
        if (schema.type === "integer" || schema.type === "number") return Number(v);
        return v;
      },
      setRequired: (on) => {
        required = on;
        mark.hidden = !on;
        if (on) input.setAttribute("aria-required", "true");
        else input.removeAttribute("aria-required");
      },
      setError: (message) => this.showAt(error, input, message),
      clearError: () => this.hideAt(error, input),
    });
    input.addEventListener("blur", (event) => {
      if (element.contains(event.relatedTarget)) return;
      const message = hintFor(schema, raw(), required, title);
      if (message) node.setError(message);
      else node.clearError();
    });
    input.addEventListener("input", () => node.clearError());
    return node;
  }

  showAt(slot, target, message) {
    slot.textContent = slot.hidden ? message : `${slot.textContent}；${message}`;
    slot.hidden = false;
    target.setAttribute("aria-invalid", "true");
  }

  hideAt(slot, target) {
    slot.textContent = "";
    slot.hidden = true;
    target.removeAttribute("aria-invalid");
  }

  collect() {
    return this.root.get();
  }

  clearErrors() {
    for (const node of this.nodes.values()) node.clearError();
    this.summary.hidden = true;
    clear(this.summary);
  }

  // Show the server's field errors next to their fields (or the nearest enclosing group) and list them
  // at the top, each linking to its field. Returns how many were placed.
  showErrors(errors) {
    this.clearErrors();
    const links = [];
    for (const e of errors) {
      let pointer = e.pointer || "";
      while (pointer && !this.nodes.has(pointer)) pointer = parentOf(pointer);
      const node = this.nodes.get(pointer);
      node.setError(e.message);
      const link = h("a", { href: `#${node.input?.id || ""}` }, e.message);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        node.focus();
      });
      links.push(h("li", {}, link));
    }
    this.summary.append(h("h2", {}, `提交的信息有 ${errors.length} 处需要更正`), h("ul", {}, links));
    this.summary.hidden = false;
    this.summary.focus();
    return errors.length;
  }
}

export function editForm(schema, value, options) {
  return new FormView(schema, value, options);
}

// ---------------------------------------------------------------------------------------------------
// Read-only: a document shown with the titles and code names of its schema.

export function divisionCodes(schema, value, out = []) {
  if (value === undefined || value === null) return out;
  if (schema["x-division"] && typeof value === "string") out.push(value);
  else if (isObject(schema) && typeof value === "object") {
    for (const [k, s] of Object.entries(schema.properties)) divisionCodes(s, value[k], out);
  } else if (schema.type === "array" && Array.isArray(value)) {
    for (const v of value) divisionCodes(schema.items || {}, v, out);
  }
  return out;
}

function scalarText(schema, value, names) {
  if (codeList(schema)) return schema.oneOf.find((o) => o.const === value)?.title ?? String(value);
  if (typeof value === "boolean") return value ? "是" : "否";
  if (schema["x-division"]) {
    const name = names?.get(value);
    return name ? `${name}（${value}）` : String(value);
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function readOnly(schema, value, names) {
  if (isObject(schema) && value && typeof value === "object") {
    const rows = Object.entries(schema.properties).filter(([k]) => value[k] !== undefined && value[k] !== null);
    return h("dl", { class: "view" }, rows.map(([k, s]) => {
      const v = value[k];
      const nested = isObject(s) || s.type === "array";
      return h("div", { class: nested ? "view-group" : "view-row", dataset: { field: k } },
        h("dt", {}, s.title || k), h("dd", {}, nested ? readOnly(s, v, names) : scalarText(s, v, names)));
    }));
  }
  if (schema.type === "array" && Array.isArray(value)) {
    const items = schema.items || {};
    return h("ol", { class: "view-list" }, value.map((v) => h("li", {}, isObject(items) ? readOnly(items, v, names) : scalarText(items, v, names))));
  }
  return h("span", {}, value === undefined || value === null ? "" : scalarText(schema, value, names));
}

// Every field of a form as [JSON pointer, title path], objects walked into, arrays taken whole.
export function fieldPointers(schema, pointer = "", titles = []) {
  if (!isObject(schema)) return [[pointer, titles.join(" / ")]];
  return Object.entries(schema.properties).flatMap(([key, s]) =>
    fieldPointers(s, `${pointer}/${key}`, [...titles, s.title || key]));
}

// A field of a JSON Schema named by its JSON pointer (array indexes walk into items).
export function titleAt(schema, pointer) {
  let s = schema;
  for (const key of String(pointer).split("/").slice(1)) s = s?.properties?.[key] ?? s?.items;
  return s?.title || pointer;
}

// The schema of the field a JSON pointer lands on (array indexes walk into items).
export function fieldAt(schema, pointer) {
  let s = schema;
  for (const key of String(pointer || "").split("/").slice(1)) s = s?.properties?.[key] ?? s?.items;
  return s;
}

// A value of the field at `pointer` as a person reads it (a code by its name: 就业状态 12 → 灵活就业).
export function valueAt(schema, pointer, value) {
  if (value === null || value === undefined || value === "") return value;
  const s = fieldAt(schema, pointer);
  if (!s) return value;
  if (codeList(s)) return s.oneOf.find((o) => o.const === String(value))?.title ?? value;
  if (s.type === "boolean" || value === "true" || value === "false") {
    if (value === true || value === "true") return "是";
    if (value === false || value === "false") return "否";
  }
  return value;
}

// A change request names 登记表 fields by JSON pointer: a copy with each field's title beside it.
export function namedChanges(value, registration) {
  if (!Array.isArray(value?.changes)) return value;
  return { ...value, changes: value.changes.map((c) => ({ ...c, field: `${titleAt(registration, c.field)}（${c.field}）` })) };
}
