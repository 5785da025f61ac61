"""Signing in and out of the web office, for every role."""

import re

import pytest
from playwright.sync_api import expect

from ..api.conftest import PASSWORD, USERS

pytestmark = pytest.mark.browser

HOME = {
    "surveyor1": ("调查员", "/tasks"),
    "platform1": ("基层平台", "/tasks"),
    "county1": ("县级经办机构", "/tasks"),
    "city1": ("市级经办机构", "/cases"),
    "manager1": ("流程管理员", "/processes"),
    "auditor1": ("审计员", "/cases"),
}


@pytest.mark.parametrize("username", sorted(HOME))
def test_each_role_signs_in_and_sees_who_and_where(office, username):
    role, home = HOME[username]
    o = office()
    page = o.login(username)
    expect(page).to_have_url(re.compile(f"{home}$"))
    expect(page.locator("header .who-role")).to_have_text(role)
    area = USERS[username][1]
    expect(page.locator("header .who-area")).to_have_attribute("title", area or "全国")
    o.shot(f"home-{username}")
    o.logout()
    page.goto("/tasks")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftasks"))


def test_wrong_password_is_refused_and_sets_no_session(office):
    o = office()
    o.expect_error(401, "/login")
    page = o.page
    page.goto("/tasks")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftasks$"))
    page.get_by_label("用户名").fill("platform1")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    expect(page.get_by_label("用户名")).to_have_value("platform1")
    assert "canbao_token" not in {c["name"] for c in o.context.cookies()}
    o.shot("login-refused")
    # the keyboard alone signs in, and the original destination is kept
    page.get_by_label("密码").fill("")
    page.get_by_label("密码").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tasks$"))


def test_session_cookie_is_httponly_strict_and_unsafe_calls_need_the_csrf_header(office):
    o = office()
    page = o.login("platform1")
    cookies = {c["name"]: c for c in o.context.cookies()}
    for name in ("canbao_token", "canbao_csrf"):
        assert cookies[name]["httpOnly"] and cookies[name]["sameSite"] == "Strict", cookies[name]
    assert page.evaluate("document.cookie") == ""  # scripts see neither
    headers = page.request.get("/tasks").headers
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf == cookies["canbao_csrf"]["value"]
    refused = page.request.post("/api/v1/tasks/00000000-0000-4000-8000-000000000000/claim")
    assert refused.status == 403 and refused.json()["detail"].startswith("跨站请求校验失败")
    wrong = page.request.post(
        "/api/v1/tasks/00000000-0000-4000-8000-000000000000/claim", headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status == 403
    passed = page.request.post(
        "/api/v1/tasks/00000000-0000-4000-8000-000000000000/claim", headers={"X-CSRF-Token": csrf}
    )
    assert passed.status == 404  # past the CSRF check: the task does not exist
    # a logout form without the token is refused; with it, the token is revoked server-side
    bare = page.request.post("/logout", form={"csrf": "forged"}, max_redirects=0)
    assert bare.status == 403
    token = cookies["canbao_token"]["value"]
    o.logout()
    after = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status == 401


def test_pages_a_role_may_not_use_are_refused(office):
    o = office()
    o.expect_error(403, "/processes")
    page = o.login("auditor1")
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link")).to_have_text(
        ["案件", "统计", "审计"]
    )
    page.goto("/processes")
    expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")
    expect(page.locator("main")).to_contain_text("您的岗位无权部署和迁移流程")
    o.shot("forbidden")
