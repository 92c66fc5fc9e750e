"""Pages from Jinja2 templates (``console/templates``), every value escaped.

Charts arrive as SVG text built by ``ray_apps.charts`` (which escapes every label itself) and are
marked safe with ``Markup``; nothing else is. ``render`` adds what every page shows: the
navigation, the role and the CSRF token for its forms.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

NAV = (
    ("/models", "Models"),
    ("/runs", "Runs"),
    ("/endpoints", "Endpoints"),
    ("/monitors", "Monitors"),
    ("/pipelines", "Pipelines"),
)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["when"] = _when
    env.filters["pct"] = _pct
    return env


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    page = (
        environment()
        .get_template(template)
        .render(nav=NAV, path=request.url.path, session=session, **context)
    )
    return HTMLResponse(page, status_code=status)


def error_response(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.{digits}g}"


def _pct(value: Any) -> str:
    """A share (0.25) as a percent ("25.0 %"); None or NaN as "–"."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        return "–"
    return f"{value * 100:.1f} %"


def _when(value: Any) -> str:
    """Seconds since the epoch (or ms, MLflow's) as UTC; strings as they are."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not value:
        return str(value or "–")
    seconds = value / 1000 if value > 1e11 else value
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
