// 入户调查: the survey lists per village (with the pre-filled 登记表 and the 汇总表 to print), the
// village's 统一登记台账 for a period (第十九条), survey cases opened for a team, persons found in the
// field added to the list (第十八条), and survey teams.
import { Problem, get, post } from "./api.js";
import { editForm } from "./form.js";
import { announce, announceProblem, can, clear, divisionCell, divisionPaths, h } from "./ui.js";

const REASONS = {
  uninsured: "未参保", "missing.medical": "未参加基本医疗保险", "missing.pension": "未参加基本养老保险",
  "missing.unemployment": "单位就业未参加失业保险", "missing.injury": "单位就业未参加工伤保险",
  "mismatch.name": "姓名不一致", "mismatch.birth_date": "出生日期不一致", "status.dead_active": "已死亡仍参保",
  "status.cancelled_active": "已注销仍参保", "dup.medical": "医保重复参保", "dup.pension": "养老重复参保",
  "field.new": "新发现人员",
};
const FLAGS = { needs_survey: "需调查登记", inaccurate: "信息不准", duplicate: "重复参保" };
const FOUND = {
  type: "object",
  title: "补充调查对象",
  required: ["id_number", "name", "residence_division"],
  properties: {
    id_number: { type: "string", title: "公民身份号码", maxLength: 18 },
    name: { type: "string", title: "姓名", maxLength: 50 },
    residence_division: { type: "string", title: "常住所在地区划", "x-division": { level: "village" }, maxLength: 12 },
    residence_address: { type: "string", title: "常住地址", maxLength: 200 },
    phone: { type: "string", title: "联系电话", maxLength: 20, "x-check": "phone" },
    note: { type: "string", title: "情况说明", maxLength: 500, "x-multiline": true },
  },
};

let teams = [];

async function loadVillages(area) {
  let rows;
  try {
    rows = await get("/survey-lists", { area });
  } catch (err) {
    announceProblem(err);
    return;
  }
  const tbody = clear(document.querySelector("#villages tbody"));
  tbody.append(...rows.map((r) => h("tr", { dataset: { village: r.division } },
    h("th", { scope: "row" }, r.name || r.division, h("div", { class: "sub mono" }, r.division)),
    h("td", {}, String(r.persons)), h("td", {}, String(r.needs_survey)), h("td", {}, String(r.inaccurate)),
    h("td", { class: "text" }, h("div", { class: "row-actions" },
      h("button", { type: "button", onclick: () => showPersons(r) }, "查看名单"),
      h("a", { class: "button", href: `/api/v1/survey-lists/${r.division}/registration.pdf`, download: "" }, "预填登记表 PDF"),
      h("a", { class: "button", href: `/api/v1/survey-lists/${r.division}/summary.xlsx`, download: "" }, "汇总表 XLSX"))))));
  document.getElementById("villages-empty").hidden = rows.length > 0;
}

async function showPersons(village) {
  let persons;
  try {
    persons = await get(`/survey-lists/${village.division}/persons`, { limit: 500 });
  } catch (err) {
    announceProblem(err);
    return;
  }
  const section = document.getElementById("persons");
  document.getElementById("persons-title").textContent = `调查对象：${village.name || village.division}（${persons.length} 人）`;
  clear(document.querySelector("#person-list tbody")).append(...persons.map((p) => h("tr", {},
    h("td", { class: "mono" }, p.id_number), h("td", {}, p.name), h("td", {}, p.birth_date), h("td", {}, p.address || ""),
    h("td", { class: "mono" }, p.phone || ""),
    h("td", {}, Object.entries(p.flags).map(([kind, reasons]) =>
      h("div", {}, `${FLAGS[kind] || kind}：${reasons.map((r) => REASONS[r] || r).join("、")}`))))));
  const box = clear(document.getElementById("open-cases"));
  if (can("survey.plan")) {
    const usable = teams.filter((t) => t.active && (village.division.startsWith(t.area) || t.area.startsWith(village.division)));
    const select = h("select", { id: "team", name: "team_id" }, usable.map((t) => h("option", { value: t.id }, t.name)));
    const form = h("form", { class: "upload", "aria-label": "生成调查案件" },
      h("label", { for: "team" }, "调查小组"), select,
      h("button", { type: "submit", class: "primary", disabled: !usable.length }, "生成调查案件"),
      !usable.length && h("p", { class: "hint" }, "本村（社区）没有可承担调查的小组，请先组建调查小组。"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const result = await post(`/survey-lists/${village.division}/cases`, { team_id: Number(select.value) });
        announce(`已为 ${village.name || village.division} 生成 ${result.opened} 件入户调查案件${result.more ? "（还有未生成的，请再次生成）" : ""}`, "ok");
      } catch (err) {
        announceProblem(err);
      }
    });
    box.append(form);
  }
  section.hidden = false;
  section.focus();
}

async function loadTeams() {
  try {
    teams = await get("/survey-teams");
  } catch (err) {
    announceProblem(err);
    return;
  }
  const names = await divisionPaths(get, teams.map((t) => t.area)).catch(() => new Map());
  clear(document.querySelector("#teams tbody")).append(...teams.map((t) => h("tr", { dataset: { team: t.id } },
    h("th", { scope: "row" }, t.name), h("td", {}, divisionCell(t.area, names)),
    h("td", {}, t.members.map((m) => `${m.name}（${m.card_no}${m.user_sub ? `，${m.user_sub}` : ""}）`).join("、")),
    h("td", {}, t.active ? "在用" : "已停用"))));
}

function teamForm() {
  const form = document.getElementById("team-form");
  if (!form) return;
  const error = document.getElementById("team-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const members = [...form.querySelectorAll(".member")].map((row) => ({
      name: row.querySelector("[name=member-name]").value.trim(),
      card_no: row.querySelector("[name=member-card]").value.trim(),
      user_sub: row.querySelector("[name=member-user]").value.trim() || null,
    })).filter((m) => m.name || m.card_no || m.user_sub);
    try {
      const team = await post("/survey-teams", {
        name: form.elements.namedItem("name").value.trim(), area: form.elements.namedItem("area").value.trim(), members,
      });
      announce(`已组建调查小组：${team.name}`, "ok");
      form.reset();
      await loadTeams();
    } catch (err) {
      error.textContent = err instanceof Problem && err.errors.length ? err.errors.map((e) => e.message).join("；") : err.detail || err.title;
      error.hidden = false;
      error.focus?.();
    }
  });
}

function foundForm() {
  const form = document.getElementById("found");
  if (!form) return;
  const submit = h("button", { type: "submit", class: "primary" }, "补充进名单");
  let view;
  const fresh = () => {
    view = editForm(FOUND, {});
    form.replaceChildren(view.element, h("div", { class: "actions" }, submit));
  };
  fresh();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const result = await post("/survey-lists/persons", view.collect());
      announce(`已补充进调查名单：${result.person_id}`, "ok");
      fresh();
      await loadVillages(document.getElementById("list-form").elements.namedItem("area").value.trim());
    } catch (err) {
      if (err instanceof Problem && err.errors.length) {
        view.showErrors(err.errors);
      }
      announceProblem(err);
    } finally {
      submit.disabled = false;
    }
  });
}

// The village's 统一登记台账 (第十九条) for a period: the 汇总表 of everyone surveyed in it.
function ledgerForm() {
  const form = document.getElementById("ledger-form");
  const error = document.getElementById("ledger-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const field = (name) => form.elements.namedItem(name);
    const [village, from, to] = ["village", "from", "to"].map((name) => field(name).value.trim());
    const bad = !/^\d{12}$/.test(village) ? ["village", "请填写村（社区）的12位区划代码"]
      : from && to && to < from ? ["to", "调查日期止不能早于起日"] : null;
    for (const name of ["village", "from", "to"]) field(name).removeAttribute("aria-invalid");
    error.hidden = !bad;
    error.textContent = bad ? bad[1] : "";
    if (bad) {
      field(bad[0]).setAttribute("aria-invalid", "true");
      field(bad[0]).focus();
      return;
    }
    const query = new URLSearchParams(Object.entries({ from, to }).filter(([, v]) => v)).toString();
    const link = h("a", { href: `/api/v1/survey-lists/${village}/summary.xlsx${query ? `?${query}` : ""}`, download: "" });
    document.body.append(link);
    link.click();
    link.remove();
  });
}

async function init() {
  const listForm = document.getElementById("list-form");
  listForm.addEventListener("submit", (event) => {
    event.preventDefault();
    loadVillages(listForm.elements.namedItem("area").value.trim());
  });
  ledgerForm();
  teamForm();
  foundForm();
  await loadTeams();
  await loadVillages(listForm.elements.namedItem("area").value.trim());
}

init();
