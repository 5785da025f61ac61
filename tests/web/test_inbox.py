"""The inbox in the browser: counts, overdue marking, bulk claim, unclaim, assign (with the server's
refusal shown in the dialog), the lead's view of the surveyors' lane, search and keyset pages."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from canbao.db import utcnow
from engine.models import CaseTask

from ..engine.office import id_number, registration

pytestmark = pytest.mark.browser


def counts(page) -> dict[str, str]:
    return {
        key: page.locator(f'[data-count="{key}"]').inner_text()
        for key in ("total", "open", "mine", "others", "overdue")
    }


def test_platform_inbox_claims_assigns_and_marks_overdue(api, office):
    people = [id_number(seq=f"{n:03d}") for n in (11, 13, 15)]
    for person in people:
        api.complete("surveyor1", api.start_survey(person), registration(person))
    late = api.task_of(api.start_survey(id_number(seq="017"))).task_guid  # still in the surveyors' lane
    with api.db.sessions() as s, s.begin():
        row = s.query(CaseTask).filter_by(person_id=people[0], state="ready").one()
        row.due_at = utcnow() - timedelta(days=2)
        s.query(CaseTask).filter_by(task_guid=late).one().due_at = utcnow() - timedelta(days=1)

    o = office()
    o.expect_error(422, "/assign")
    page = o.login("platform1")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('[data-count="total"]')).to_have_text("3")
    assert counts(page) == {"total": "3", "open": "3", "mine": "0", "others": "0", "overdue": "1"}
    overdue = page.locator("#tasks tbody tr.overdue")
    expect(overdue).to_have_count(1)
    expect(overdue).to_contain_text(people[0])
    expect(overdue).to_contain_text("已超期")
    expect(rows.first).to_contain_text(people[0])  # sorted by due date: the overdue one first
    o.shot("inbox-platform")

    # bulk claim two of them
    for person in people[:2]:
        page.locator("#tasks tbody tr", has_text=person).locator("input.pick").check()
    expect(page.locator("#selected-count")).to_have_text("2")
    page.get_by_role("button", name=re.compile("认领所选")).click()
    expect(page.locator("#status")).to_contain_text("已认领 2 项")
    expect(page.locator('[data-count="mine"]')).to_have_text("2")
    assert counts(page)["open"] == "1"
    page.get_by_role("button", name=re.compile("^我的")).click()
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"status=mine"))
    o.shot("inbox-mine")

    # unclaim one, with the keyboard
    release = page.locator("#tasks tbody tr", has_text=people[1]).get_by_role("button", name="退回任务池")
    release.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("已退回任务池")
    expect(rows).to_have_count(1)

    # assign the third: a surveyor is refused (next to the field), a colleague accepted
    page.get_by_role("button", name=re.compile("^全部")).click()
    expect(rows).to_have_count(3)
    page.locator("#tasks tbody tr", has_text=people[2]).get_by_role("button", name="分派").click()
    dialog = page.get_by_role("dialog", name="分派任务")
    expect(dialog).to_be_visible()
    dialog.get_by_label("分派给（用户名）").fill("surveyor1")
    dialog.get_by_role("button", name="分派").click()
    expect(dialog.locator("#assignee-error")).to_have_text("该用户没有办理此任务的岗位或区域")
    expect(dialog.get_by_label("分派给（用户名）")).to_have_attribute("aria-invalid", "true")
    o.shot("assign-refused")
    dialog.get_by_label("分派给（用户名）").fill("platform2")
    dialog.get_by_role("button", name="分派").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#tasks tbody tr", has_text=people[2])).to_contain_text("platform2")
    expect(page.locator('[data-count="others"]')).to_have_text("1")

    # filters: overdue only, search by ID number
    page.get_by_role("button", name=re.compile("^已超期")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(people[0])
    page.get_by_role("button", name=re.compile("^已超期")).click()
    page.get_by_label("姓名或公民身份号码").fill(people[2])
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("platform2")

    # as the surveyors' lead: their lane, overdue marked, assignable to a team member
    page.get_by_role("button", name="重置").click()
    page.get_by_label("岗位").select_option(label="调查员（督办）")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("入户调查登记")
    expect(rows.first).to_contain_text("已超期")
    expect(rows.first.locator("input.pick")).to_be_disabled()  # not the platform's to claim
    rows.first.get_by_role("button", name="分派").click()
    dialog.get_by_label("分派给（用户名）").fill("surveyor2")
    dialog.get_by_role("button", name="分派").click()
    expect(rows.first).to_contain_text("surveyor2")
    o.shot("inbox-lead-surveyors")


def test_inbox_pages_through_keyset_cursors(api, office):
    people = [id_number(seq=f"{n:03d}") for n in range(101, 122)]
    for person in people:
        api.start_survey(person)
    o = office()
    page = o.login("surveyor1")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(20)
    expect(page.locator('[data-count="total"]')).to_have_text("21")
    page.get_by_role("button", name="下一页").click()
    expect(rows).to_have_count(1)
    expect(page.locator("#page-no")).to_have_text("第 2 页")
    expect(page.get_by_role("button", name="下一页")).to_be_disabled()
    assert "after=" in page.url
    last = rows.first.inner_text()
    page.get_by_role("button", name="上一页").click()
    expect(rows).to_have_count(20)
    assert last not in page.locator("#tasks tbody").inner_text()
    page.get_by_label("每页").select_option("50")
    expect(rows).to_have_count(21)
    o.shot("inbox-21")


def test_a_slow_answer_to_an_earlier_filter_does_not_replace_the_current_list(api, office):
    person, waiting = id_number(seq="031"), id_number(seq="033")
    api.complete("surveyor1", api.start_survey(person), registration(person))  # now in the platform's lane
    api.start_survey(waiting)  # still in the surveyors' lane
    o = office()
    page = o.login("platform1")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(person)

    held = []

    def hold_own_lane(route):
        if "role=surveyor" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/tasks\?"), hold_own_lane)
    lane = page.get_by_label("岗位")
    lane.select_option(label="调查员（督办）")
    expect(rows.first).to_contain_text(waiting)
    lane.select_option(label="本岗位")  # its list is held back…
    lane.select_option(label="调查员（督办）")  # …while this one answers at once
    expect(rows.first).to_contain_text(waiting)
    assert len(held) == 1
    with page.expect_response(lambda r: r.request is held[0].request):
        held[0].continue_()
    page.wait_for_load_state("networkidle")
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(waiting)
    expect(lane).to_have_value("surveyor")
