"""我的参保登记 on a phone (360×740) and a kiosk (第十四、二十三条): a citizen signs in with their
公民身份号码, sees their record and where it came from, is reminded of missing items on the page and
before printing the 参保证明 (a PDF carrying the same reminder), asks for a correction with evidence,
and follows it through the agency's return (with its reason), the resubmission and the confirmation."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.models import Case
from registry import persons

from ..api.test_own import pdf_text
from .conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
KIOSK = {"width": 1080, "height": 1920}
EVIDENCE = {"name": "话费单.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\nphone bill\n%%EOF\n"}


def sign_in(o, number: str, name: str) -> Page:
    page = o.page
    page.goto("/login")
    page.get_by_label("用户名").fill(number)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/me$"))  # a citizen lands on their own record
    expect(page.locator("header .who-name")).to_have_text(name)
    return page


def test_citizen_checks_prints_and_corrects_their_record_on_a_phone(api, office, citizens):
    number, name = next(iter(citizens.items()))
    o = office(viewport=PHONE, is_mobile=True, has_touch=True)
    page = sign_in(o, number, name)
    reminder = page.locator("#reminder")
    expect(reminder).to_contain_text("提醒：您的登记信息有")
    expect(reminder).to_contain_text("缺少联系电话")
    expect(page.locator("#record-body")).to_contain_text(name)
    expect(page.locator('#sources-body [data-group="identity"]')).to_contain_text("公安人口信息（第 1 批导入")
    expect(page.locator('#sources-body [data-group="contact"]')).to_contain_text("尚未登记")
    o.shot("own-phone")

    # printing: the reminder first, then the PDF, which carries it too
    page.get_by_role("button", name="打印参保证明（个人权益单）").click()
    dialog = page.get_by_role("dialog", name="打印前请注意")
    expect(dialog).to_contain_text("缺少联系电话")
    o.shot("own-print-reminder")
    with page.expect_download() as download:
        dialog.get_by_role("link", name="仍然打印").click()
    text = pdf_text(Path(download.value.path()).read_bytes())
    assert name in text and "【缺失】缺少联系电话" in text
    expect(dialog).to_be_hidden()

    # a correction of the missing phone number, with evidence
    reminder.get_by_role("button", name="更正“联系电话”").click()
    row = page.locator(".change-row").first
    expect(row.locator("select").first).to_have_value("/phone")
    expect(row).to_contain_text("现登记为：（空）")
    row.get_by_label("更正为").fill("1390531")
    page.get_by_label("更正原因").fill("补充本人手机号码")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#evidence-error")).to_have_text("请上传证明材料")
    page.get_by_label("选择文件（可多选）").set_input_files(EVIDENCE)
    # a number the 登记表 refuses: the server's message beside the item; the request stays a draft
    o.expect_error(422, "/complete")
    page.get_by_role("button", name="提交更正申请").click()
    expect(row.locator(".field-error").last).to_contain_text("联系电话")
    expect(page.locator("#status")).to_contain_text("表单数据未通过校验")
    expect(page.locator("#requests-body")).to_contain_text("待提交")
    o.shot("own-refused")
    row.get_by_label("更正为").fill("13905310721")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#status")).to_contain_text("已提交更正申请")
    request = page.locator("#requests-body li[data-case-id]").first
    expect(request).to_contain_text("已提交，经办机构审核中")
    expect(request).to_contain_text("联系电话：（空） → 13905310721")
    o.shot("own-submitted")
    with api.db.sessions() as s:
        case_id = s.scalars(select(Case.id).where(Case.person_id == number)).one()

    # the 经办机构 returns it with a reason; the citizen sees why, resubmits
    api.complete("county1", case_id, {"decision": "return", "reason": "话费单看不清号码，请补充身份证复印件"})
    page.reload()
    expect(request).to_contain_text("经办机构退回，请补正后重新提交")
    expect(request).to_contain_text("经办机构意见：话费单看不清号码，请补充身份证复印件")
    o.shot("own-returned")
    request.get_by_role("button", name="补正此申请").click()
    form = page.locator(".correction-form")
    expect(form).to_contain_text("经办机构退回")
    expect(form.get_by_label("更正为")).to_have_value("13905310721")
    page.get_by_label("材料类别").select_option(label="身份证正面")
    page.get_by_label("选择文件（可多选）").set_input_files(
        {**EVIDENCE, "name": "身份证.pdf", "buffer": b"%PDF-1.7\nid card\n%%EOF\n"}
    )
    page.get_by_role("button", name="补正后重新提交").click()
    expect(request).to_contain_text("已提交，经办机构审核中")
    expect(request).to_contain_text("证明材料 2 份")

    api.complete("county1", case_id, {"decision": "approve", "reason": "材料齐全，予以更正"})
    page.reload()
    expect(request).to_contain_text("经办机构已确认，登记信息已更新")
    expect(request).to_contain_text("经办机构意见：材料齐全，予以更正")
    expect(page.locator("#record-body")).to_contain_text("13905310721")
    expect(reminder).not_to_contain_text("缺少联系电话")
    o.shot("own-confirmed")
    with api.db.sessions() as s:
        assert persons.get(s, id_number=number).phone == "13905310721"

    # a kiosk: the same page, sized for a standing screen
    kiosk = office(viewport=KIOSK)
    sign_in(kiosk, number, name)
    expect(kiosk.page.locator("#requests-body")).to_contain_text("经办机构已确认")
    kiosk.shot("own-kiosk")


def test_another_citizen_sees_only_their_own_record(api, office, citizens):
    (first, _), (second, name) = citizens.items()
    o = office(viewport=PHONE, is_mobile=True, has_touch=True)
    page = sign_in(o, second, name)
    expect(page.locator("#record-body")).to_contain_text(second)
    expect(page.locator("#record-body")).not_to_contain_text(first)
    o.expect_error(404, f"/persons/{first}")
    assert page.request.get(f"/api/v1/persons/{first}").status == 404
