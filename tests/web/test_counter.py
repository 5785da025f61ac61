"""窗口办理 in the browser, by keyboard only (第十三条): a clerk types a 公民身份号码 and presses Enter, the
person's missing and inaccurate items pop up with the fields to collect, the clerk fills them and
submits without a page reload; a second clerk's 录入校核 on the same page stores the 登记表, and the
person's 需调查登记 flag is cleared in the registry."""

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from canbao.actors import Actor
from engine.models import Case
from registry import comparison, persons
from registry.models import Flag

from ..engine.office import COUNTY, VILLAGE, id_number

pytestmark = pytest.mark.browser
MAX_TABS = 60
FOCUSED_BUTTON = "() => document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent"


def focused_pointer(page: Page) -> str | None:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return el && ['INPUT','SELECT','TEXTAREA'].includes(el.tagName) && el.name || null }"
    )


def tab_to(page: Page, pointer: str) -> None:
    """Press Tab until the field of `pointer` has the focus, as a keyboard user moves through a form."""
    for _ in range(MAX_TABS):
        if focused_pointer(page) == pointer:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {pointer}")


def tab_to_button(page: Page, name: str) -> None:
    for _ in range(MAX_TABS):
        if page.evaluate(FOCUSED_BUTTON) == name:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the button {name}")


def choose(page: Page, pointer: str, steps: int) -> None:
    tab_to(page, pointer)
    for _ in range(steps):
        page.keyboard.press("ArrowDown")


def test_counter_collects_missing_items_and_a_second_clerk_checks_them(api, office):
    person = id_number("19850210", "315")
    api.population(person)
    with api.db.sessions() as s, s.begin():
        comparison.run(s, actor=Actor(sub="system", roles=("system",), area=""), area=COUNTY)
    with api.db.sessions() as s:
        [flag] = s.scalars(select(Flag).where(Flag.person_id == person, Flag.status == "open")).all()
        assert flag.kind == "needs_survey"

    clerk = office()
    page = clerk.login("counter1")
    page.goto("/counter")
    expect(page.locator("#id-number")).to_be_focused()
    page.evaluate("window.sameDocument = true")  # gone if anything below reloads the page
    clerk.shot("counter-empty")
    # a wrong number is refused on the field, with the focus left there
    page.keyboard.type(person[:-1] + ("0" if person[-1] != "0" else "1"))
    clerk.expect_error(422, "/persons/")
    page.keyboard.press("Enter")
    expect(page.locator("#id-number-error")).to_have_text("公民身份号码校验码错误")
    expect(page.locator("#id-number")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(person)
    page.keyboard.press("Enter")

    popup = page.locator("#popup")
    expect(popup).to_contain_text("需调查登记，缺失、不准信息")
    for message in ("缺少联系电话", "缺少常住所在地", "缺少就业状态", "未参加任何基本社会保险"):
        expect(popup).to_contain_text(message)
    assert page.evaluate("() => document.activeElement.closest('form')?.matches('.task-form')")
    expect(page.locator('#collect [data-pointer="/name"]')).to_be_hidden()  # only what needs collecting
    clerk.shot("counter-popup")

    choose(page, "/ethnicity", 1)  # 汉族
    tab_to(page, "/residence/division")
    page.keyboard.type(VILLAGE)
    tab_to(page, "/residence/address")
    page.keyboard.type("济南市历下区解放路12号")
    tab_to(page, "/phone")
    page.keyboard.type("13905310012")
    choose(page, "/employment/status", 2)  # 灵活就业
    choose(page, "/uninsured_reason/code", 2)  # 不了解参保政策
    expect(page.locator('[name="/employment/status"]')).to_have_value("12")
    clerk.shot("counter-collected")
    tab_to_button(page, "提交采集（送校核）")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("等待另一名窗口经办人员校核")
    expect(page.locator("#id-number")).to_be_focused()  # ready for the next person
    expect(page.locator("#id-number")).to_have_value("")
    mine = page.locator(f'#check-list li:has-text("{person}")')
    expect(mine).to_contain_text("本人采集，由另一名窗口经办人员校核")  # not offered to its collector
    expect(mine.get_by_role("button")).to_have_count(0)
    with api.db.sessions() as s:
        assert s.get(Flag, flag.id).status == "open"  # not before the 校核

    checker = office()
    page2 = checker.login("counter2")
    page2.goto("/counter")
    row = page2.locator(f'#check-list li:has-text("{person}")')
    expect(row).to_have_count(1)
    page2.keyboard.press("Tab")
    tab_to_button(page2, "校核 赵某")
    page2.keyboard.press("Enter")
    expect(row.locator(".review-data")).to_contain_text("13905310012")
    expect(row.get_by_role("button", name="校核通过（入库）")).to_be_focused()
    checker.shot("counter-check")
    page2.keyboard.press("Enter")
    expect(page2.locator("#status")).to_contain_text("已入库，需调查登记标识已取消")
    expect(page2.locator("#check-list")).to_contain_text("暂无待校核的窗口采集")
    checker.shot("counter-checked")

    with api.db.sessions() as s:
        assert s.get(Flag, flag.id).status == "cleared"
        stored = persons.get(s, id_number=person)
        assert (stored.phone, stored.employment_status, stored.residence_division) == (
            "13905310012",
            "12",
            VILLAGE,
        )
        assert stored.registered_at is not None
    # the same number looked up again: nothing left to collect on the 登记表's required items
    page.keyboard.type(person)
    page.keyboard.press("Enter")
    expect(popup).not_to_contain_text("需调查登记")
    expect(popup).not_to_contain_text("缺少联系电话")
    expect(popup).not_to_contain_text("未参加任何基本社会保险")
    assert page.evaluate("window.sameDocument") is True
    clerk.shot("counter-after")


def test_a_collection_the_check_returned_is_continued_on_the_same_case(api, office):
    person = id_number("19791105", "337")
    api.population(person)
    started = api.post("/cases", "counter1", json={"process": "counter_collection", "person_id": person})
    case_id = started.json()["id"]
    data = api.get(f"/cases/{case_id}", "counter1").json()["data"]["registration"]
    collected = {
        k: v for k, v in data.items() if k not in ("area", "registered_at", "status", "insurance", "guardian")
    } | {
        "phone": "13905310337",
        "ethnicity": "01",
        "hukou": {**data["hukou"], "nature": "10"},
        "residence": {"division": VILLAGE, "address": "济南市历下区解放路3号"},
        "employment": {"status": "21"},
        "insurance": [],
        "uninsured_reason": {"code": "02"},
        "survey": {"channel": "counter", "date": "2026-12-01"},
    }
    collected = {k: v for k, v in collected.items() if v is not None}
    api.complete("counter1", case_id, collected)
    returned = {"reason": "联系电话与本人所述不符，请重新核对"}
    task = api.task_of(case_id).task_guid
    version = api.get(f"/tasks/{task}", "counter2").json()["case_version"]
    assert (
        api.post(
            f"/tasks/{task}/return", "counter2", json=returned, headers={"If-Match": str(version)}
        ).status_code
        == 200
    )

    clerk = office()
    page = clerk.login("counter1")
    page.goto("/counter")
    page.keyboard.type(person)
    page.keyboard.press("Enter")
    form = page.locator("#collect form")
    expect(form).to_contain_text(f"继续采集（案件 {case_id}）")
    expect(form).to_contain_text("校核退回：联系电话与本人所述不符，请重新核对")
    clerk.shot("counter-returned")
    page.get_by_role("button", name="显示全部登记项").press("Enter")
    phone = page.locator('[name="/phone"]')
    expect(phone).to_have_value("13905310337")
    phone.fill("13905310338")
    page.get_by_role("button", name="提交采集（送校核）").press("Enter")
    expect(page.locator("#status")).to_contain_text(f"案件 {case_id}")
    with api.db.sessions() as s:
        assert s.scalars(select(Case.id).where(Case.person_id == person)).all() == [case_id]
    assert api.task_of(case_id).spec_name == "check"
