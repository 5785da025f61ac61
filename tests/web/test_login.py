"""Signing in and out of the web office, for every role."""

import re

import pytest
from playwright.sync_api import expect

from ..api.conftest import USERS

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
