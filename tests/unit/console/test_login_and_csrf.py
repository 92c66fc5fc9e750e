"""Every page needs a session; a session needs an accepted key; a state change needs the
session's CSRF token; the cookie is HttpOnly, SameSite=Strict and unreadable to other secrets."""

from __future__ import annotations

import pytest
from _console import ADMIN_KEY, ENV, VIEWER_KEY, csrf_of, log_in
from starlette.routing import Route
from starlette.testclient import TestClient

from console import create_app
from console.session import COOKIE
from ray_apps import registry
from ray_apps.errors import SpecError

PAGES = ["/models", "/models/cancer", "/models/cancer/versions/2", "/runs", "/endpoints"]
PAGES += ["/monitors", "/pipelines"]
APPROVE = "/models/cancer/versions/2/approve"


def _status(world, tracking_uri) -> str:
    return registry.get_version("cancer", 2, tracking_uri=tracking_uri).status


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_the_login_form(console_client, path):
    response = console_client(None).get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path.replace('/', '%2F')}"


def test_after_login_the_page_asked_for_opens(console_client):
    client = console_client(None)
    response = log_in(client, VIEWER_KEY, next_page="/runs")
    assert (response.status_code, response.headers["location"]) == (303, "/runs")
    assert client.get("/runs").status_code == 200


def test_a_wrong_key_is_refused_and_sets_no_session(console_client):
    client = console_client(None)
    response = log_in(client, "not-a-key")
    assert response.status_code == 401 and "that key is not accepted" in response.text
    assert COOKIE not in client.cookies
    assert client.get("/models").status_code == 303


def test_the_login_form_needs_its_own_token(console_client):
    client = console_client(None)
    client.get("/login")
    response = client.post("/login", data={"key": ADMIN_KEY, "csrf": "forged"})
    assert response.status_code == 403 and COOKIE not in client.cookies
    fresh = TestClient(client.app, follow_redirects=False)  # no login cookie at all
    token = csrf_of(client.get("/login").text)
    assert fresh.post("/login", data={"key": ADMIN_KEY, "csrf": token}).status_code == 403


def test_the_session_cookie_is_httponly_strict_and_holds_no_key(world, console_client):
    client = console_client(None)
    response = log_in(client, ADMIN_KEY)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    flags = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert {"httponly", "samesite=strict", "path=/"} <= set(flags)
    assert "secure" not in flags  # plain HTTP on loopback; --secure-cookie behind TLS
    value = cookie.split(";")[0]
    assert ADMIN_KEY not in value and "6f1d2c9e" not in value

    secure = TestClient(create_app(world.settings(secure_cookie=True), environ=ENV))
    secure_cookie = log_in(secure, ADMIN_KEY).headers.get_list("set-cookie")
    assert any(c.startswith(COOKIE) and "; secure" in c.lower() for c in secure_cookie)


def test_a_forged_or_foreign_or_expired_session_is_refused(world, console_client):
    client = console_client("admin")
    good = client.cookies[COOKIE]
    body, mac = good.split(".")
    for forged in (f"{body}x.{mac}", f"{body}.{mac[:-2]}AA", "garbage"):
        other = TestClient(client.app, follow_redirects=False, cookies={COOKIE: forged})
        assert other.get("/models").status_code == 303
    # Another start has another random secret: its sessions are not this one's.
    restarted = TestClient(create_app(world.settings(), environ=ENV), follow_redirects=False)
    restarted.cookies.set(COOKIE, good)
    assert restarted.get("/models").status_code == 303

    now = [1_000_000.0]
    clocked = TestClient(
        create_app(world.settings(session_hours=1), environ=ENV, clock=lambda: now[0]),
        follow_redirects=False,
    )
    log_in(clocked, ADMIN_KEY)
    assert clocked.get("/models").status_code == 200
    now[0] += 3601
    assert clocked.get("/models").status_code == 303


def test_a_configured_secret_keeps_sessions_but_not_those_of_a_removed_key(world):
    env = {**ENV, "RAYMAKER_CONSOLE_SECRET": "s" * 40}
    first = TestClient(create_app(world.settings(), environ=env), follow_redirects=False)
    log_in(first, ADMIN_KEY)
    cookie = first.cookies[COOKIE]
    again = TestClient(create_app(world.settings(), environ=env), follow_redirects=False)
    again.cookies.set(COOKIE, cookie)
    assert again.get("/models").status_code == 200
    rotated = {**env, "RAYMAKER_ADMIN_KEYS": "admin-a-new-key-after-rotation"}
    after = TestClient(create_app(world.settings(), environ=rotated), follow_redirects=False)
    after.cookies.set(COOKIE, cookie)
    assert after.get("/models").status_code == 303
    with pytest.raises(SpecError, match="at least 32"):
        create_app(world.settings(), environ={**ENV, "RAYMAKER_CONSOLE_SECRET": "short"})


def test_a_state_change_without_the_csrf_token_is_refused(world, console_app, console_client):
    uri = console_app.state.console.places.tracking_uri
    client = console_client("admin")
    for form in ({"reason": "looks good"}, {"reason": "looks good", "csrf": "not-the-token"}):
        response = client.post(APPROVE, data=form)
        assert response.status_code == 403 and "CSRF token" in response.text
    other = console_client("admin")  # a token from another session does not do either
    token = csrf_of(other.get("/models").text)
    assert client.post(APPROVE, data={"reason": "x", "csrf": token}).status_code == 403
    assert console_client(None).post(APPROVE, data={"reason": "x"}).status_code == 403
    assert _status(world, uri) == "Pending"


def test_every_post_route_but_the_login_checks_csrf_and_role(console_app):
    posts = [r for r in console_app.routes if isinstance(r, Route) and "POST" in r.methods]
    assert {r.path for r in posts} >= {
        "/login",
        "/logout",
        APPROVE.replace("cancer", "{name}").replace("/2/", "/{version:int}/"),
    }
    for route in posts:
        if route.path != "/login":
            assert route.endpoint.guard[0] == "action", route.path


def test_logging_out_ends_the_session(console_client):
    client = console_client("viewer")
    token = csrf_of(client.get("/models").text)
    response = client.post("/logout", data={"csrf": token})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/models").status_code == 303


def test_pages_forbid_scripts_framing_and_caching(console_client):
    response = console_client("viewer").get("/models")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_the_console_does_not_start_without_an_admin_key_or_with_a_shared_one(world):
    with pytest.raises(SpecError, match="no admin credential: RAYMAKER_ADMIN_KEYS"):
        create_app(world.settings(), environ={"RAYMAKER_VIEWER_KEYS": VIEWER_KEY})
    with pytest.raises(SpecError, match="viewer key must differ"):
        create_app(
            world.settings(),
            environ={"RAYMAKER_ADMIN_KEYS": ADMIN_KEY, "RAYMAKER_VIEWER_KEYS": ADMIN_KEY},
        )


def test_a_second_login_page_or_a_favicon_does_not_void_the_form_on_screen(console_client):
    """Seen in Chromium: its /favicon.ico request went through the login redirect and replaced
    the login cookie, so the form on screen was refused."""
    client = console_client(None)
    first = csrf_of(client.get("/login").text)
    assert client.get("/favicon.ico").status_code == 204
    assert csrf_of(client.get("/login?next=%2Fruns").text) == first
    assert log_in(client, ADMIN_KEY).status_code == 303
