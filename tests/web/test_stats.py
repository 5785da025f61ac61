"""The statistics page on the hand-checked office of tests/stats: the coverage table and its totals as
the API computes them, drill-down to a county and to the persons behind a count (masked for the
city), the charts, an earlier day, and the XLSX report."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from registry.stats import build

from ..stats.helpers import DAYS_BACK, PHASE2, phase1, phase1_day, phase2, shift_history

pytestmark = pytest.mark.browser


def seed(api) -> None:
    with api.db.sessions() as s, s.begin():
        phase1(s)
    with api.db.sessions() as s, s.begin():
        shift_history(s, DAYS_BACK)
        build.refresh(s, full=True)
    with api.db.sessions() as s, s.begin():
        phase2(s)


def test_city_reads_coverage_drills_down_and_downloads(api, office, tmp_path):
    seed(api)
    county = api.get("/stats/coverage", "city1", params={"area": "370102"}).json()["total"]
    o = office()
    page = o.login("city1")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计").click()
    table = page.locator("#coverage")
    target = table.locator("thead th").filter(has_text=re.compile("^应登记人数$"))
    expect(target).to_have_count(1)
    expect(page.locator("#trail")).to_have_text("济南市")  # the city's own code by its name, not "3701"
    column = table.locator("thead th").all_inner_texts().index("应登记人数")
    expect(table.locator("tfoot tr th, tfoot tr td").nth(column)).to_have_text(str(len(PHASE2["target"])))
    expect(page.locator("#rate-chart svg rect.chart-bar")).not_to_have_count(0)
    expect(page.locator("#rate-title")).to_have_text("全民参保登记率（按区划）")  # 第三十一条
    expect(page.locator("#rate-chart svg")).to_have_attribute("aria-label", re.compile("^全民参保登记率"))
    o.shot("stats-city")

    # drill down to 历下区, then to the persons behind its 应登记人数
    table.get_by_role("button", name="历下区", exact=True).click()
    expect(page.locator("#trail")).to_contain_text("济南市 › 历下区")
    expect(page).to_have_url(re.compile(r"area=370102"))
    expect(table.locator("tfoot th")).to_contain_text("历下区")
    total = table.locator("tfoot tr th, tfoot tr td").nth(column)
    expect(total).to_have_text(str(county["target"]))
    total.get_by_role("button").click()
    drill = page.locator("#drill")
    expect(drill).to_be_focused()
    expect(page.locator("#drill-title")).to_have_text(
        f"人员明细：历下区 · 应登记人数（{county['target']} 人）"
    )
    ids = page.locator("#drill-table tbody td.mono").all_inner_texts()
    assert len(ids) == county["target"] and all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", i) for i in ids)
    schemes = page.locator("#drill-table tbody td:nth-child(6)").all_inner_texts()  # 有效险种
    assert any("保险" in s for s in schemes) and not any(re.search(r"\d{3}", s) for s in schemes), schemes
    o.shot("stats-drill")

    # another indicator group, and an earlier day
    page.get_by_role("button", name="本地/异地参保").click()
    expect(table.locator("thead")).to_contain_text("本地参保人数")
    page.get_by_label("统计日期").fill(phase1_day().isoformat())
    page.get_by_role("button", name="统计").click()
    expect(page.locator("#coverage-title")).to_contain_text(phase1_day().isoformat())
    expect(page.locator("#reason-chart svg")).to_have_attribute(
        "aria-label", re.compile("经济困难，无力缴费 1 人")
    )
    o.shot("stats-past")

    with page.expect_download() as download:
        page.get_by_role("link", name="统计表 XLSX").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx"
    sheet = load_workbook(path)["统计表"]
    assert sheet["A1"].value == "全民参保登记情况统计表" and "历下区" in sheet["A2"].value


def test_county_sees_survey_team_progress(api, office):
    api.start_survey("370102199001011231")
    o = office()
    page = o.login("county1")
    page.goto("/stats")
    teams = page.locator("#teams tbody")
    expect(teams).to_contain_text("解放路一组")
    expect(teams.locator("tr").first.locator("td").nth(2)).to_have_text("1")  # 分派案件
    o.shot("stats-county")
