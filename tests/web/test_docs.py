"""The API docs (Swagger UI) come from this app, under the pages' content security policy, so they work
on an office network with no way out and load no third-party script onto the cookie-authenticated
origin."""

import re

import pytest
from playwright.sync_api import expect

from web.pages import CSP

pytestmark = pytest.mark.browser


def test_api_docs_render_offline_from_vendored_files_under_the_csp(office, server):
    o = office()
    outside: list[str] = []

    def cut_off(route) -> None:
        outside.append(route.request.url)
        route.abort("internetdisconnected")

    # Every request that does not go to the app fails, as it would on the office network.
    o.context.route(re.compile(rf"^(?!{re.escape(server)}/)"), cut_off)
    page = o.page
    response = page.goto("/api/docs")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("canbao 全民参保登记")
    token = page.locator(".opblock-summary-path", has_text="/api/v1/auth/token")
    expect(token).to_be_visible()
    token.click()
    expect(page.locator(".opblock-body").first).to_contain_text("username")
    o.shot("api-docs")
    assert outside == []
    sources = page.evaluate(
        "[...document.querySelectorAll('script[src], link[href]')].map(e => e.src || e.href)"
    )
    assert sources and all(s.startswith(f"{server}/static/") for s in sources), sources


def test_try_it_out_calls_the_api_with_the_session_and_its_csrf_token(office):
    o = office()
    o.login("platform1")
    page = o.page
    page.goto("/api/docs")
    block = page.locator(
        ".opblock", has=page.locator(".opblock-summary-path", has_text="/api/v1/auth/logout")
    )
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    with page.expect_response(re.compile(r"/api/v1/auth/logout$")) as logout:
        block.get_by_role("button", name="Execute").click()
    assert logout.value.status == 204  # an unsafe call: without the CSRF header it would be 403
    csrf = {c["name"]: c["value"] for c in o.context.cookies()}["canbao_csrf"]
    assert logout.value.request.headers["x-csrf-token"] == csrf
    assert page.request.get("/api/v1/me").status == 401  # the session's token is revoked
