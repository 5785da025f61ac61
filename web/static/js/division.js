// A division picker: the code field plus one select per level, each narrowing the next
// (province → city → county → township → village). The code field holds the value; typing a code
// moves the selects to it.
import { get } from "./api.js";
import { h } from "./ui.js";

const LEVELS = [
  { key: "province", length: 2, title: "省" },
  { key: "city", length: 4, title: "市（地）" },
  { key: "county", length: 6, title: "县（区）" },
  { key: "township", length: 9, title: "乡镇（街道）" },
  { key: "village", length: 12, title: "村（社区）" },
];

const cache = new Map();
function children(parent) {
  const key = parent || "";
  if (!cache.has(key)) {
    cache.set(key, get("/divisions", { parent: parent || undefined }).then((r) => r.items, (err) => {
      cache.delete(key);
      throw err;
    }));
  }
  return cache.get(key);
}

export function divisionPicker({ id, title, level, accept = [], describedBy, value = "" }) {
  const depth = LEVELS.findIndex((l) => l.key === level) + 1 || LEVELS.length;
  const length = LEVELS[depth - 1].length;
  const input = h("input", {
    id, type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false", maxlength: String(length),
    class: "code", "aria-describedby": describedBy,
  });
  const name = h("output", { class: "division-name", for: id });
  const note = h("p", { class: "hint", hidden: true }, "本乡镇（街道）的村（社区）代码未载入，请在代码框中直接填写12位代码。");
  const selects = LEVELS.slice(0, depth).map((l) =>
    h("select", { "aria-label": `${title}：${l.title}`, dataset: { level: l.key } }, h("option", { value: "" }, `选择${l.title}`)));
  const element = h("div", { class: "division" }, h("div", { class: "division-selects" }, selects), input, name, note);

  // The value a selection up to level i stands for: a county-level field may stop at its province or
  // city, written in the 6-digit form PP0000 / PPCC00.
  function valueFor(code, i) {
    if (i + 1 < depth && length === 6 && accept.includes(LEVELS[i].key)) return code.padEnd(6, "0");
    return code;
  }

  function fill(select, items, chosen) {
    select.length = 1;
    for (const item of items) select.append(h("option", { value: item.code, dataset: { leaf: item.leaf ? "1" : "" } }, item.name));
    select.value = chosen || "";
    select.disabled = items.length === 0;
  }

  function showName() {
    const parts = selects.filter((s) => s.value).map((s) => s.selectedOptions[0].textContent);
    name.textContent = parts.join(" / ");
    const last = selects.filter((s) => s.value).at(-1);
    const i = last ? selects.indexOf(last) : -1;
    note.hidden = !(depth === LEVELS.length && i === depth - 2 && last.selectedOptions[0].dataset.leaf === "1");
  }

  async function openLevel(i, parent, chosen) {
    for (let j = i; j < depth; j++) fill(selects[j], [], "");
    if (i >= depth) return;
    fill(selects[i], await children(parent), chosen);
  }

  async function choose(i) {
    const code = selects[i].value;
    const parent = code || (i > 0 ? selects[i - 1].value : "");
    input.value = code ? valueFor(code, i) : parent ? valueFor(parent, i - 1) : "";
    await openLevel(i + 1, code, "");
    if (!code) for (let j = i + 1; j < depth; j++) selects[j].disabled = true;
    showName();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Move the selects to `code`, level by level, as far as the loaded divisions go.
  async function set(code) {
    input.value = code || "";
    let parent = "";
    for (let i = 0; i < depth; i++) {
      const items = i === 0 || parent ? await children(parent) : [];
      const prefix = code && code.length >= LEVELS[i].length ? code.slice(0, LEVELS[i].length) : "";
      const found = items.some((item) => item.code === prefix);
      fill(selects[i], items, found ? prefix : "");
      if (i > 0 && !parent) selects[i].disabled = true;
      parent = found ? prefix : "";
    }
    showName();
  }

  selects.forEach((select, i) => select.addEventListener("change", () => choose(i)));
  input.addEventListener("change", () => {
    const code = input.value.trim();
    if (/^\d+$/.test(code) || code === "") set(code);
  });

  return {
    element,
    input,
    ready: set(value),
    get: () => input.value.trim(),
    set,
  };
}
