"""入户调查 in the browser: a surveyor adds a person found in the field to the survey list (第十八条),
the platform forms a team, reads the village's list and opens survey cases for a team, and the case
reaches the surveyors' inbox."""

import re

import pytest
from playwright.sync_api import expect

from ..engine.office import VILLAGE, id_number

pytestmark = pytest.mark.browser


def test_found_person_goes_on_the_list_and_becomes_a_survey_case(api, office):
    person = id_number(seq="201")
    surveyor = office()
    surveyor.expect_error(422, "/survey-lists/persons")
    page = surveyor.login("surveyor1")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="入户调查").click()
    found = page.locator("#found")
    found.locator('[data-pointer="/id_number"] input').fill(person[:-1] + ("0" if person[-1] != "0" else "1"))
    found.locator('[data-pointer="/name"] input').fill("赵六")
    for level, code in (
        ("省", "37"),
        ("市（地）", "3701"),
        ("县（区）", "370102"),
        ("乡镇（街道）", "370102001"),
    ):
        found.get_by_label(f"常住所在地区划：{level}").select_option(code)
    found.get_by_label("常住所在地区划：村（社区）").select_option(VILLAGE)
    found.locator('[data-pointer="/residence_address"] input').fill("解放路9号")
    found.get_by_role("button", name="补充进名单").click()
    expect(found.locator('[data-pointer="/id_number"] .field-error')).to_have_text("公民身份号码校验码错误")
    found.locator('[data-pointer="/id_number"] input').fill(person)
    found.get_by_role("button", name="补充进名单").click()
    expect(page.locator("#status")).to_contain_text(f"已补充进调查名单：{person}")
    village = page.locator(f'#villages tr[data-village="{VILLAGE}"]')
    expect(village.locator("td").first).to_have_text("1")
    surveyor.shot("survey-found")

    platform = office()
    platform.expect_error(422, "/survey-teams")
    page = platform.login("platform1")
    page.goto("/survey")
    expect(page.locator("#teams tbody")).to_contain_text("解放路一组")
    team = page.locator("#team-form")
    team.get_by_label("小组名称").fill("解放路二组")
    members = team.locator(".member")
    members.nth(0).get_by_label("姓名").fill("钱七")
    members.nth(0).get_by_label("调查证编号").fill("DC0007")
    team.get_by_role("button", name="组建小组").click()
    expect(page.locator("#team-error")).to_contain_text("入户调查一般以2–3人为一组")
    members.nth(1).get_by_label("姓名").fill("孙八")
    members.nth(1).get_by_label("调查证编号").fill("DC0008")
    team.get_by_role("button", name="组建小组").click()
    expect(page.locator("#status")).to_contain_text("已组建调查小组：解放路二组")
    expect(page.locator("#teams tbody tr")).to_have_count(2)

    page.locator(f'#villages tr[data-village="{VILLAGE}"]').get_by_role("button", name="查看名单").click()
    listed = page.locator("#person-list tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(person)
    expect(listed).to_contain_text("需调查登记：新发现人员")
    page.get_by_role("combobox", name="调查小组").select_option(label="解放路一组")
    page.get_by_role("button", name="生成调查案件").click()
    expect(page.locator("#status")).to_contain_text("生成 1 件入户调查案件")
    platform.shot("survey-cases-opened")

    page = surveyor.page
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="待办").click()
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.locator("#tasks tbody")).to_contain_text(re.compile(f"赵六.*{person}", re.S))
