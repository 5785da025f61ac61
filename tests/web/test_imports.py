"""The 数据导入 page (issue 19): a department file uploaded with progress, its counts and rejected rows,
the import records, and the declared precedence table and formats."""

import pytest
from playwright.sync_api import expect

from ..engine.office import id_number

pytestmark = pytest.mark.browser


def test_county_uploads_a_gbk_death_file_and_sees_the_precedence_table(api, office):
    person = id_number(seq="701")
    api.population(person)
    o = office()
    page = o.login("county1")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="数据导入").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据导入")
    precedence = page.locator("#precedence")
    expect(precedence.get_by_role("row", name="死亡日期")).to_contain_text("卫健 ＞ 民政")
    expect(precedence.get_by_role("row", name="姓名")).to_contain_text("登记库 ＞ 卫健")
    expect(page.locator("#formats summary")).to_have_count(7)

    content = f"公民身份号码,姓名,死亡日期\n{person},赵某,2026-03-01\n{person[:17]}0,赵某,2099-01-01\n"
    page.get_by_label("导入类型").select_option(label="民政死亡（殡葬）信息")
    expect(page.get_by_label("业务系统", exact=True)).to_be_hidden()
    page.get_by_label("文件", exact=True).set_input_files(
        {"name": "民政死亡.csv", "mimeType": "text/csv", "buffer": content.encode("gbk")}
    )
    page.get_by_role("button", name="导入").click()
    result = page.locator("#result")
    expect(result).to_contain_text("共 2 行：接受 1，拒绝 1；新增 0，更新 1")
    expect(result.get_by_role("link", name="下载被拒绝的行及原因")).to_be_visible()
    row = page.locator("#imports tbody tr").first
    expect(row).to_contain_text("民政死亡（殡葬）信息")
    expect(row).to_contain_text("民政死亡.csv")
    o.shot("imports-department")

    o.expect_error(422, "/api/v1/imports")
    page.get_by_label("导入类型").select_option(label="卫健出生医学证明信息")
    page.get_by_label("文件", exact=True).set_input_files(
        {"name": "births.csv", "mimeType": "text/csv", "buffer": "公民身份号码,姓名\n".encode()}
    )
    page.get_by_role("button", name="导入").click()
    expect(result).to_contain_text("文件缺少列")
    expect(result.locator("li")).to_contain_text("file.columns")
