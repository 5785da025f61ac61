"""axe-core (vendored from npm, served from /static like bpmn-js) over every page of the office for every
role that may open it: no violation of impact "serious" or "critical". A page joins the check by adding
one line to PAGES; a page a role may not use is checked as the refusal page it then gets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Page

from ..api.conftest import USERS
from ..engine.office import RETURN, id_number, registration
from .conftest import ARTIFACTS, Office

pytestmark = pytest.mark.browser

AXE = "/static/vendor/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class Page_:
    name: str
    path: str  # formatted with the ids of the seeded office: {case}, {task}, {review}
    ready: str = "main h1"  # a selector present once the page's script has drawn it (for roles that may)


# Every page of the office. New pages: one line here.
PAGES = [
    Page_("待办", "/tasks"),
    Page_("已办", "/tasks?status=done"),
    Page_("办理任务（登记表）", "/tasks/{task}"),
    Page_("办理任务（审核）", "/tasks/{review}"),
    Page_("案件列表", "/cases"),
    Page_("案件", "/cases/{case}"),
    Page_("入户调查", "/survey"),
    Page_("统计", "/stats"),
    Page_("审计", "/audit"),
    Page_("流程管理", "/processes"),
    Page_("版本对比", "/processes/survey_registration/diff"),
    Page_("窗口办理", "/counter"),
    Page_("我的参保登记", "/me"),
    Page_("数据导入", "/imports"),
]
# One user of each role (tests/api/conftest.py).
ROLES = sorted({roles[0]: user for user, (roles, _) in sorted(USERS.items(), reverse=True)}.values())


@pytest.fixture
def seeded(api) -> dict[str, str]:
    """A returned and resubmitted survey case waiting for 初审, and a fresh one waiting for the survey."""
    person = id_number(seq="231")
    case = api.start_survey(person)
    api.complete("surveyor1", case, registration(person))
    api.complete("platform1", case, RETURN)
    api.complete("surveyor1", case, registration(person, phone="13805310001"))
    review = api.task_of(case).task_guid
    fresh = api.start_survey(id_number(seq="233"))
    return {"case": str(case), "review": review, "task": api.task_of(fresh).task_guid}


def axe_violations(page: Page) -> list[str]:
    page.add_script_tag(url=AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                resultTypes: ["violations"],
                // off by default (experimental): a control's name must contain the text it shows
                rules: { "label-content-name-mismatch": { enabled: true } },
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} — {v['nodes']}" for v in found if v["impact"] in SERIOUS]


def check(o: Office, label: str, path: str, ready: str) -> list[str]:
    page = o.page
    page.goto(path)
    page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    return [f"{label} {path}: {v}" for v in axe_violations(page)]


def test_login_page_has_no_serious_violation(office):
    o = office()
    o.page.goto("/login")
    assert axe_violations(o.page) == []


@pytest.mark.parametrize("username", [*ROLES, "citizen"])
def test_every_page_for_every_role_has_no_serious_violation(seeded, citizens, office, username):
    shown_as = None
    if username == "citizen":  # 单位或个人 sign in with their 公民身份号码 and are greeted by name
        username, shown_as = next(iter(citizens.items()))
    o = office()
    o.expect_error(403, "/")  # pages the role may not use answer 403 with the refusal page
    o.expect_error(404, "/api/v1/")  # a task or case outside the user's area reads as not found
    o.login(username, shown_as=shown_as)
    found = []
    for p in PAGES:
        found += check(o, p.name, p.path.format(**seeded), p.ready)
    report = ARTIFACTS / "axe" / f"{username}.txt"  # the whole list, where an assertion message is cut
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(found) or "no serious or critical violation\n")
    assert found == []
