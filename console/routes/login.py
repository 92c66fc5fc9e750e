"""Log in with a key (admin or viewer), log out; ``/`` goes to the models page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.context import context_of
from console.guard import action, read_form
from console.render import render
from console.session import COOKIE, LOGIN_COOKIE, LOGIN_TTL_S, tokens_match


async def login_form(request: Request) -> Response:
    return _form(request, _safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    ctx = context_of(request)
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    expected = ctx.signer.login_token_of(request.cookies.get(LOGIN_COOKIE))
    if expected is None or not tokens_match(form.get("csrf"), expected):
        return _form(
            request, target, "the login form expired or came from elsewhere; log in again", 403
        )
    found = ctx.credentials.role_of(form.get("key", "")) if form.get("key", "").strip() else None
    if found is None:
        return _form(request, target, "that key is not accepted", 401)
    _, cookie = ctx.signer.issue(*found)
    response = RedirectResponse(target, status_code=303)
    _set(response, COOKIE, cookie, ctx.signer.max_age_s, ctx.settings.secure_cookie)
    _forget(response, LOGIN_COOKIE, ctx.settings.secure_cookie)
    return response


@action("viewer")
def logout(request: Request, form: dict[str, str]) -> Response:
    response = RedirectResponse("/login", status_code=303)
    _forget(response, COOKIE, context_of(request).settings.secure_cookie)
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/models", status_code=303)


async def favicon(request: Request) -> Response:
    return Response(status_code=204)  # none: and not a trip through the login redirect


def _form(request: Request, target: str, error: str = "", status: int = 200) -> Response:
    """The login form; a valid login cookie keeps its token (two tabs, or a browser fetching
    /favicon.ico through the login redirect, must not void the form on screen)."""
    ctx = context_of(request)
    token = ctx.signer.login_token_of(request.cookies.get(LOGIN_COOKIE))
    cookie = None
    if token is None:
        token, cookie = ctx.signer.login_token()
    response = render(request, "login.html", status=status, csrf=token, next=target, error=error)
    if cookie is not None:
        _set(response, LOGIN_COOKIE, cookie, LOGIN_TTL_S, ctx.settings.secure_cookie)
    return response


def _set(response: Response, name: str, value: str, max_age: float, secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=int(max_age), path="/", secure=secure, httponly=True, samesite="strict"
    )


def _forget(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")


def _safe_next(target: str | None) -> str:
    """Only a path on this console: never another site (``//host``, ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/models"
    return target


routes = [
    Route("/", home),
    Route("/favicon.ico", favicon),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
