"""A survey case worked entirely in the browser: the surveyor fills the 全民参保登记表 (an invalid ID
number first, refused on the field), the platform returns it with a reason, the surveyor corrects it,
the platform and the county approve, the case page shows the path taken in the diagram, and an auditor
finds the case's events and who read the person's data, and verifies the audit chain."""

import re

import pytest
from playwright.sync_api import Page, expect

from engine import worker

from ..engine.office import VILLAGE, id_number

pytestmark = pytest.mark.browser
REASON = "联系电话与户籍信息不符，请核实"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
    + (b"trailer<</Root 1 0 R>>\n%%EOF\n")
)


def field(page: Page, pointer: str):
    """The control of a form field, found by the JSON pointer it edits."""
    return page.locator(f'[data-pointer="{pointer}"]').locator("input, select, textarea").first


def error_of(page: Page, pointer: str):
    return page.locator(f'[data-pointer="{pointer}"] .field-error').first


def open_task(page: Page, title: str) -> None:
    page.wait_for_load_state("networkidle")  # leave the current page only once it has loaded
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="待办").click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def fill_registration(page: Page, person: str, wrong_id: str) -> None:
    field(page, "/id_type").select_option(label="居民身份证（户口簿）")
    field(page, "/id_number").fill(wrong_id)
    field(page, "/name").fill("张三")
    field(page, "/sex").select_option(label="男")
    field(page, "/birth_date").fill(f"{person[6:10]}-{person[10:12]}-{person[12:14]}")
    field(page, "/ethnicity").select_option(label="汉族")
    # 户口所在地: narrowed level by level with the pickers' selects
    for level, code in (
        ("省", "37"),
        ("市（地）", "3701"),
        ("县（区）", "370102"),
        ("乡镇（街道）", "370102001"),
    ):
        page.get_by_label(f"户口所在地区划：{level}").select_option(code)
    page.get_by_label("户口所在地区划：村（社区）").select_option(VILLAGE)
    expect(page.get_by_role("textbox", name="户口所在地区划", exact=True)).to_have_value(VILLAGE)
    field(page, "/hukou/address").fill("济南市历下区解放路1号")
    field(page, "/hukou/nature").select_option(label="城镇户籍")
    # 常住所在地: the code typed, the selects follow it
    code = page.get_by_role("textbox", name="常住所在地区划", exact=True)
    code.fill(VILLAGE)
    code.press("Tab")
    expect(page.get_by_label("常住所在地区划：村（社区）")).to_have_value(VILLAGE)
    expect(page.locator('[data-pointer="/residence/division"] output')).to_contain_text("解放路街道")
    field(page, "/residence/address").fill("济南市历下区解放路1号")
    field(page, "/phone").fill("13805310000")
    field(page, "/employment/status").select_option(label="单位就业")
    field(page, "/employment/employer").fill("济南某某有限公司")
    page.get_by_role("button", name="添加险种参保情况").click()
    field(page, "/insurance/0/scheme").select_option(label="企业职工基本养老保险")
    field(page, "/insurance/0/status").select_option(label="正常参保")
    for level, code in (("省", "37"), ("市（地）", "3701"), ("县（区）", "370102")):
        page.get_by_label(f"参保地：{level}").select_option(code)
    field(page, "/insurance/0/first_date").fill("2015-03-01")
    field(page, "/insured_elsewhere").select_option(label="否")
    expect(field(page, "/survey/channel")).to_have_value("survey")
    # the team and the signed-in surveyor's own name and 调查证 come filled in; the teammate is added
    expect(field(page, "/survey/team")).to_have_value("370102001-01")
    expect(field(page, "/survey/surveyors/0/name")).to_have_value("李四")
    expect(field(page, "/survey/surveyors/0/card_no")).to_have_value("DC0001")
    page.get_by_role("button", name="添加调查员").click()
    field(page, "/survey/surveyors/1/name").fill("王五")
    field(page, "/survey/surveyors/1/card_no").fill("DC0002")
    field(page, "/survey/signed").select_option(label="是")


def test_survey_case_from_survey_to_approval(api, office):
    person = id_number()
    wrong = person[:-1] + ("1" if person[-1] != "1" else "2")
    api.population(person)  # on the survey list: the case is the person's from the start
    r = api.post(
        "/cases",
        "platform1",
        json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": 1},
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    # 调查员: fills the 登记表; the server refuses the ID number, next to that field
    surveyor = office()
    surveyor.expect_error(422, "/complete")
    page = surveyor.login("surveyor1")
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.locator("#tasks tbody")).to_contain_text(person)
    surveyor.shot("inbox-surveyor")
    open_task(page, "入户调查登记")
    expect(field(page, "/id_number")).to_have_value(person)  # pre-filled from the case
    fill_registration(page, person, wrong)
    surveyor.shot("registration-filled")

    # the signed form, scanned: a program named .pdf is refused on the field, a PDF is archived
    surveyor.expect_error(415, f"/cases/{case_id}/documents")
    page.get_by_label("材料类别").select_option(label="登记表")
    page.get_by_label("扫描件").set_input_files(
        {"name": "登记表.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" + b"\x00" * 2000}
    )
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#file-error")).to_have_text("只接受 PDF、JPEG、PNG、TIFF 格式的扫描件")
    expect(page.get_by_label("扫描件")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("材料类别").select_option(label="登记表")
    page.get_by_label("扫描件").set_input_files(
        {"name": "登记表.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#status")).to_contain_text("已上传：登记表")
    expect(page.locator('#documents li[data-kind="registration_form"]')).to_have_count(1)
    page.get_by_role("button", name="提交").click()
    expect(error_of(page, "/id_number")).to_have_text("公民身份号码校验码错误")
    expect(field(page, "/id_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_be_focused()
    surveyor.shot("registration-refused")
    page.locator(".error-summary a").first.click()
    expect(field(page, "/id_number")).to_be_focused()
    field(page, "/id_number").fill(person)
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("#status")).to_contain_text("已提交：入户调查登记")
    expect(page.locator("#empty")).to_be_visible()

    # 基层平台: reads the 登记表 and returns it with a reason, naming the field to correct
    platform = office()
    page = platform.login("platform1")
    open_task(page, "基层平台初审")
    expect(page.locator(".review-data")).to_contain_text("张三")
    expect(page.locator(".review-data")).to_contain_text("解放桥社区")
    expect(page.locator("#documents")).to_contain_text("登记表")
    page.get_by_role("button", name="退回补正").click()
    expect(page.locator("#reason-error")).to_be_visible()  # a return needs a reason
    page.get_by_label("审核意见说明").fill(REASON)
    page.locator("#return-items").get_by_label("联系电话").check()
    platform.shot("initial-review-return")
    page.get_by_role("button", name="退回补正").click()
    expect(page.locator("#status")).to_contain_text("已退回补正：基层平台初审")

    # 调查员: sees the reason and the flagged field, corrects the phone number
    page = surveyor.page
    open_task(page, "入户调查登记")
    expect(page.locator("#returns")).to_contain_text(REASON)
    expect(page.locator("#returns")).to_contain_text("需补正：联系电话")
    expect(page.locator('[data-pointer="/phone"]')).to_have_class(re.compile("flagged"))
    expect(field(page, "/name")).to_have_value("张三")  # the submitted form comes back filled
    surveyor.shot("registration-returned")
    field(page, "/phone").fill("13905310001")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#status")).to_contain_text("已提交：入户调查登记")

    # 基层平台 approves, then 县级 approves
    page = platform.page
    open_task(page, "基层平台初审")
    expect(page.locator(".review-data")).to_contain_text("13905310001")
    # what the resubmission changed, field by field
    changed = page.locator("#changes tbody tr")
    expect(changed).to_have_count(1)
    expect(changed.first).to_contain_text("联系电话")
    expect(changed.first.locator("td.old")).to_have_text("13805310000")
    expect(changed.first.locator("td.new")).to_have_text("13905310001")
    platform.shot("initial-review-changes")
    expect(page.locator("section[aria-labelledby=reviews-title]")).to_contain_text(REASON)
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator("#status")).to_contain_text("已通过：基层平台初审")
    county = office()
    page = county.login("county1")
    open_task(page, "县级审定")
    county.shot("final-review")
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator("#status")).to_contain_text("已通过：县级审定")

    county.shot("inbox-after-approval")

    # the case page, found in the case list: the path taken, highlighted in the diagram, and the history
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="案件").click()
    listed = page.locator("#cases tbody tr", has_text=f"案件 {case_id}")
    expect(listed).to_contain_text("等待中")
    county.shot("case-list")
    listed.get_by_role("link", name=f"案件 {case_id}").click()
    diagram = page.locator("#diagram")
    for done in ("survey", "initial_review", "count_return", "final_review", "store"):
        expect(diagram.locator(f'g.djs-element[data-element-id="{done}"]')).to_have_class(
            re.compile("cb-done")
        )
    for taken in ("f_initial_return", "f_cap_resurvey", "f_initial_approve", "f_final_approve"):
        expect(diagram.locator(f'g.djs-element[data-element-id="{taken}"]')).to_have_class(
            re.compile("cb-done")
        )
    for never in ("escalation_review", "f_final_return", "f_final_reject", "end_rejected"):
        expect(diagram.locator(f'g.djs-element[data-element-id="{never}"]')).not_to_have_class(
            re.compile("cb-done|cb-active")
        )
    expect(page.locator("#diagram-text")).to_contain_text("已办环节：入户调查登记、基层平台初审")
    expect(page.locator("#history")).to_contain_text(REASON)
    expect(page.locator("#case-data")).to_contain_text("13905310001")
    expect(page.locator('#documents li[data-kind="registration_form"] a')).to_have_attribute(
        "href", re.compile(r"^/api/v1/documents/\d+$")
    )
    county.shot("case-page")

    # 归档 by the worker: the case page names the package's 档号 and how long it is kept
    assert worker.run_due(api.db.sessions) == 1
    page.reload()
    package = page.locator("#archive-package")
    expect(package).to_contain_text(re.compile(r"已归档，档号 370102-\d{4}-D100-RYDJ-DJ-ZY-000001"))
    expect(package).to_contain_text(re.compile(r"（\d{4}年 参保人员登记材料 参保登记 准予登记）"))
    expect(package).to_contain_text(re.compile(r"参保人员登记材料（100年），保管至 \d{4}/12/31"))

    # 审计员: the case's events, who read the person's data, and the chain verified
    auditor = office()
    page = auditor.login("auditor1")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计").click()
    page.get_by_label("案件号").fill(str(case_id))
    page.get_by_role("button", name="查询", exact=True).click()
    events = page.locator("#events tbody")
    expect(events).to_contain_text(person[:6] + "********" + person[-4:])  # masked for the auditor
    page.locator("#filters select[name=action]").select_option(label="任务（task.*）")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(events.locator('tr[data-action="task.complete"]')).to_have_count(4)  # survey twice, two approvals
    expect(events.locator('tr[data-action="task.return"]')).to_contain_text(REASON)
    expect(events.locator("tr:not([data-action^='task.'])")).to_have_count(0)
    page.locator("#filters select[name=action]").select_option(label="案件（case.*）")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(events.locator('tr[data-action="case.start"]')).to_contain_text("platform1")
    expect(page.get_by_role("link", name="导出签名的经办记录（JSON）")).to_be_visible()
    auditor.shot("audit-events")
    page.get_by_label("公民身份号码", exact=True).last.fill(person)
    page.get_by_role("button", name="查询访问记录").click()
    readers = page.locator("#access tbody")
    expect(readers).to_contain_text("surveyor1")
    expect(readers).to_contain_text("county1")
    page.get_by_role("button", name="校验审计日志").click()
    expect(page.locator("#verify-result .verdict")).to_contain_text("审计日志完整")
    expect(page.locator("#verify-result")).not_to_contain_text("null")
    auditor.shot("audit-verified")
