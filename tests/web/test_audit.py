"""The audit page shows a tampered log for what it is: verification names the changed event."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from canbao.audit.models import AuditEvent

from ..audit.helpers import tamper, write

pytestmark = pytest.mark.browser


def test_auditor_sees_the_first_changed_event(api, office):
    write(api.db, transactions=3, per_transaction=5)
    with api.db.sessions() as s:
        victim = s.scalars(select(AuditEvent).where(AuditEvent.object_id == "t1-2")).one()
    o = office()
    page = o.login("auditor1")
    page.goto("/audit")
    page.get_by_role("button", name="校验审计日志").click()
    expect(page.locator("#verify-result .verdict")).to_contain_text("审计日志完整")
    expect(page.locator("#unanchored")).to_contain_text("尚未被归档锚点覆盖的事件")
    expect(page.locator("#unanchored")).to_contain_text("尚无锚点")

    tamper(api.db, ("UPDATE audit_event SET payload = '{}' WHERE id = :id", {"id": victim.id}))
    page.get_by_role("button", name="校验审计日志").click()
    result = page.locator("#verify-result")
    expect(result.locator(".verdict")).to_have_text("审计日志被改动！")
    expect(result.locator("li")).to_have_count(1)
    expect(result.locator("li")).to_contain_text(f"事件号 {victim.id}")
    expect(result.locator("li")).to_contain_text("事件内容被篡改")
    o.shot("audit-tampered")
