"""A change request (变更采集) in the browser: the form rendered from its schema, the 登记表 field to
change picked by name, collected by one platform clerk and reviewed (初审) by another."""

import re

import pytest
from playwright.sync_api import expect

from ..engine.office import VILLAGE, id_number

pytestmark = pytest.mark.browser


def test_platform_collects_a_change_naming_the_field_by_its_title(api, office):
    person = id_number(seq="301")
    r = api.post(
        "/cases", "platform1", json={"process": "change_approval", "person_id": person, "area": VILLAGE}
    )
    assert r.status_code == 201, r.text
    o = office()
    page = o.login("platform1")
    page.locator("#tasks tbody").get_by_role("link", name="基层平台变更采集").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("基层平台变更采集")
    page.locator('[data-pointer="/id_number"] input').fill(person)
    page.get_by_role("button", name="添加变更事项").click()
    field = page.locator('[data-pointer="/changes/0/field"] input')
    options = page.locator(f"datalist#{field.get_attribute('list')} option")
    expect(options.filter(has_text=re.compile("^联系电话$"))).to_have_attribute("value", "/phone")
    expect(options.filter(has_text="户口所在地 / 户口所在地区划")).to_have_attribute(
        "value", "/hukou/division"
    )
    field.fill("/phone")
    page.locator('[data-pointer="/changes/0/new"] input').fill("13905319999")
    page.locator('[data-pointer="/reason"] textarea').fill("本人更换手机号码")
    o.shot("change-request")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#status")).to_contain_text("已提交：基层平台变更采集")

    reviewer = office()
    page = reviewer.login("platform2")
    page.locator("#tasks tbody").get_by_role("link", name="基层平台初审").click()
    expect(page.locator(".review-data")).to_contain_text("13905319999")
    expect(page.locator(".review-data")).to_contain_text("本人更换手机号码")
    expect(page.locator(".review-data")).to_contain_text("联系电话（/phone）")
    reviewer.shot("change-review")
