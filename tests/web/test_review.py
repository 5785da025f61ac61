"""Reviewers' and surveyors' daily work in the browser (issue 20): required fields marked where the server
requires them and the surveyor's own team and 调查证 filled in; a draft saved and resumed; a returned task
back with its submitter, marked; 已办; saved inbox filters; the inbox and a task form worked by keyboard
alone; the case history in words and a diagram readable at 1366×768."""

import re

import pytest
from playwright.sync_api import Page, expect

from engine import worker

from ..engine.office import APPROVE, RETURN, id_number, registration
from .test_survey_case import PDF, field

pytestmark = pytest.mark.browser


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab in {limit} presses")


def test_required_marks_prefill_and_a_draft_resumed(api, office):
    person = id_number(seq="401")
    api.start_survey(person)
    o = office()
    page = o.login("surveyor1")
    page.get_by_role("link", name="入户调查登记").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("入户调查登记")
    # 调查小组, 调查员, 本人签字确认: required for a household survey (the server's if/then), marked so
    for pointer in ("/survey/team", "/survey/signed"):
        expect(page.locator(f'[data-pointer="{pointer}"] label .req')).to_be_visible()
        expect(field(page, pointer)).to_have_attribute("aria-required", "true")
    expect(page.locator('[data-pointer="/survey/surveyors"] > legend .req')).to_be_visible()
    expect(field(page, "/survey/team")).to_have_value("370102001-01")
    expect(field(page, "/survey/surveyors/0/name")).to_have_value("李四")
    expect(field(page, "/survey/surveyors/0/card_no")).to_have_value("DC0001")
    # at a counter they are not required: the marks follow the channel
    field(page, "/survey/channel").select_option("counter")
    expect(page.locator('[data-pointer="/survey/team"] label .req')).to_be_hidden()
    field(page, "/survey/channel").select_option("survey")
    expect(page.locator('[data-pointer="/survey/team"] label .req')).to_be_visible()
    o.shot("registration-required-marks")

    field(page, "/name").fill("张三")
    field(page, "/phone").fill("13805310000")
    field(page, "/employment/status").select_option(label="灵活就业")
    tab_to(page, "#save-draft", limit=200)  # the rest of the form passed by keyboard to the button
    page.keyboard.press("Enter")
    expect(page.locator("#draft-state")).to_contain_text("草稿已暂存")
    page.reload()
    expect(page.locator("#draft-state")).to_contain_text("已恢复")
    expect(field(page, "/name")).to_have_value("张三")
    expect(field(page, "/phone")).to_have_value("13805310000")
    expect(field(page, "/employment/status")).to_have_value("12")
    o.shot("registration-draft-resumed")


def test_a_returned_task_is_back_with_its_submitter_and_done_and_saved_filters(api, office):
    person = id_number(seq="403")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    api.complete("platform1", case_id, RETURN)
    other = id_number(seq="405")
    api.start_survey(other)

    o = office()
    page = o.login("surveyor1")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(2)
    returned = page.locator("#tasks tbody tr", has_text=person)
    expect(returned).to_contain_text("退回补正")
    expect(returned).to_contain_text("surveyor1（我）")
    expect(page.locator('[data-count="mine"]')).to_have_text("1")
    o.shot("inbox-returned")
    returned.get_by_role("link", name="入户调查登记").click()
    expect(page.locator("#task-claim")).to_contain_text("platform1 退回了您上次提交的登记")
    expect(page.locator("#returns")).to_contain_text(RETURN["reason"])
    page.wait_for_load_state("networkidle")  # leave only once the form has loaded
    page.go_back()

    # 已办: the survey surveyor1 submitted, linking to its case
    page.get_by_role("button", name="已办").click()
    expect(page).to_have_url(re.compile(r"status=done"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"案件 {case_id}")
    expect(rows.first.get_by_role("link", name="查看案件")).to_have_attribute("href", f"/cases/{case_id}")
    o.shot("inbox-done")

    # a saved filter: 我的, kept in this browser for this user, applied again later
    page.get_by_role("button", name=re.compile("^我的")).click()
    expect(rows).to_have_count(1)
    page.get_by_label("名称").fill("我的退回件")
    page.get_by_role("button", name="保存当前筛选").click()
    expect(page.locator("#status")).to_contain_text("已保存筛选：我的退回件")
    page.get_by_role("button", name="重置").click()
    expect(rows).to_have_count(2)
    page.get_by_role("combobox", name="常用筛选").select_option("我的退回件")
    expect(page).to_have_url(re.compile(r"status=mine"))
    expect(rows).to_have_count(1)
    o.shot("inbox-saved-filter")
    page.get_by_role("button", name="删除所选").click()
    expect(page.get_by_role("combobox", name="常用筛选").locator("option")).to_have_count(1)


def test_the_inbox_and_a_review_form_by_keyboard_alone(api, office):
    person = id_number(seq="407")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    o = office()
    page = o.login("platform1")
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    # filter to 待认领 and open the task, with Tab and Enter only
    tab_to(page, 'button[data-status="open"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=open"))
    tab_to(page, "#tasks tbody a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("基层平台初审")
    # claim, write the reason, tick the field to correct, return
    tab_to(page, "#task-claim button")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("已认领此任务")
    tab_to(page, "#reason")
    page.keyboard.type(RETURN["reason"])
    tab_to(page, 'input[name="return_items"][value="/phone"]')
    page.keyboard.press("Space")
    expect(page.locator('input[name="return_items"][value="/phone"]')).to_be_checked()
    tab_to(page, 'button[value="return"]')
    o.shot("review-by-keyboard")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("#status")).to_contain_text("已退回补正：基层平台初审")
    assert api.task_of(case_id).assignee == "surveyor1"


def test_case_history_in_words_and_a_readable_diagram(api, office):
    person = id_number(seq="409")
    case_id = api.start_survey(person)
    upload = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=api.as_("surveyor1"),
        data={"kind": "registration_form"},
        files={"file": ("form.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    api.complete("surveyor1", case_id, registration(person))
    api.complete("platform1", case_id, RETURN)
    api.complete("surveyor1", case_id, registration(person, employment={"status": "12"}))
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    assert worker.run_due(api.db.sessions) == 1  # 归档

    o = office()
    page = o.login("county1")
    page.goto(f"/cases/{case_id}")
    history = page.locator("#history")
    expect(history).to_contain_text("入库")
    page.get_by_label("显示查阅个人信息的记录").check()
    text = history.inner_text()
    for raw in ("registry.store", "archive.seal", "GET /", "/tasks/{id}", "task.", "person.read"):
        assert raw not in text, f"{raw!r} in the case history"
    assert "就业状态：（空） → 灵活就业" in text
    assert "登记表（PDF" in text and "办理“入户调查登记”时上传" in text
    assert "需补正：联系电话" in text
    assert "常住所在地区划：（空） → 山东省济南市历下区解放路街道解放桥社区居民委员会（370102001002）" in text

    # the path taken names 环节 only, and the labels are at least 11 px as shown
    steps = page.locator("#diagram-text")
    expect(steps).to_contain_text("已办环节：入户调查登记、基层平台初审")
    for not_a_step in ("退回计数", "初审结论", "列入调查名单", "初始化"):
        expect(steps).not_to_contain_text(not_a_step)
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll("#diagram .djs-visual text")]
            .filter((t) => t.textContent.trim())
            .map((t) => {
                const m = t.getScreenCTM();  // lane names are turned 90°: the scale, not the x factor
                return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
            }))"""
    )
    assert smallest >= 11, f"diagram labels shown at {smallest:.1f} px"
    page.locator("#diagram").scroll_into_view_if_needed()
    o.shot("case-history-and-diagram")


def test_the_audit_log_says_whom_and_which_case(api, office):
    person = id_number(seq="411")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    o = office()
    page = o.login("auditor1")
    page.goto(f"/audit?case_id={case_id}")
    rows = page.locator("#events tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#events tbody")).to_contain_text("入户调查登记 · 赵某")
    completed = page.locator('#events tbody tr[data-action="task.complete"]').first
    expect(completed).to_contain_text("任务 入户调查登记")
    text = page.locator("#events tbody").inner_text()
    assert "person " not in text and "case " not in text and "GET /" not in text
    o.shot("audit-named")
