"""Surveyors work on tablets: the inbox and the 登记表 fit a portrait tablet screen, controls are large
enough to tap, and the division picker works by touch."""

import pytest
from playwright.sync_api import expect

from ..engine.office import VILLAGE, id_number

pytestmark = pytest.mark.browser
TABLET = {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True}


def test_surveyor_works_a_task_on_a_portrait_tablet(api, office):
    api.start_survey(id_number())
    o = office(**TABLET)
    page = o.login("surveyor1")
    o.shot("tablet-inbox")
    page.locator("#tasks tbody").get_by_role("link", name="入户调查登记").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("入户调查登记")
    picker = page.locator('[data-pointer="/hukou/division"]')
    for level, code in (
        ("省", "37"),
        ("市（地）", "3701"),
        ("县（区）", "370102"),
        ("乡镇（街道）", "370102001"),
    ):
        picker.get_by_label(f"户口所在地区划：{level}").select_option(code)
    picker.get_by_label("户口所在地区划：村（社区）").select_option(VILLAGE)
    expect(picker.locator("output")).to_contain_text("解放路街道")
    submit = page.get_by_role("button", name="提交")
    assert submit.bounding_box()["height"] >= 44
    assert page.locator('[data-pointer="/name"] input').bounding_box()["height"] >= 44
    o.shot("tablet-registration")
