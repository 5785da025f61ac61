"""入户调查 in the browser: a surveyor adds a person found in the field to the survey list (第十八条),
the platform forms a team, reads the village's list and opens survey cases for a team, and the case
reaches the surveyors' inbox."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from ..engine.office import APPROVE, REJECT, VILLAGE, id_number, registration

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


def test_the_village_ledger_is_downloaded_for_a_period(api, office, tmp_path):
    """第十九条: the 汇总表 as 统一登记台账 — the stored and the refused surveys of the period alike."""
    stored, refused = id_number(seq="211"), id_number(seq="213")
    for person, decision in ((stored, APPROVE), (refused, REJECT)):
        case_id = api.start_survey(person)
        api.complete("surveyor1", case_id, registration(person))  # surveyed on 2026-11-20
        api.complete("platform1", case_id, APPROVE)
        api.complete("county1", case_id, decision)
    o = office()
    page = o.login("platform1")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="入户调查").click()
    ledger = page.locator("#ledger-form")
    ledger.get_by_label("村（社区）区划代码").fill(VILLAGE)
    ledger.get_by_label("调查日期起").fill("2026-11-30")
    ledger.get_by_label("调查日期止").fill("2026-11-01")
    ledger.get_by_role("button", name="下载汇总表 XLSX").click()
    expect(page.locator("#ledger-error")).to_have_text("调查日期止不能早于起日")
    expect(ledger.get_by_label("调查日期止")).to_be_focused()
    ledger.get_by_label("调查日期起").fill("2026-11-01")
    ledger.get_by_label("调查日期止").fill("2026-11-30")
    o.shot("survey-ledger")
    with page.expect_download() as download:
        ledger.get_by_role("button", name="下载汇总表 XLSX").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    ws = load_workbook(path).active
    assert "调查期间：2026-11-01 至 2026-11-30" in [c.value for c in ws[2]]
    header = [c.value for c in ws[3]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=4)]
    assert [(r["社会保障号码"], r["调查日期"], r["调查员"], r["备注"]) for r in rows] == [
        (stored, "2026-11-20", "李四（DC0001）、王五（DC0002）", "已入库"),
        (refused, "2026-11-20", "李四（DC0001）、王五（DC0002）", f"不予登记：{REJECT['reason']}"),
    ]
