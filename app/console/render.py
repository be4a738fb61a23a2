"""Pages from templates: one Jinja2 environment, the headers every console page carries, and the
HTML answers for redirects, denials and API failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.console.api import ApiFailure
from app.console.forms import client_properties
from app.console.session import COOKIE_PATH, SECRET_COOKIE, Session

HERE = Path(__file__).resolve().parent
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the code: no stat() per page
)


def op_id(operation: dict[str, Any]) -> str:
    """The last segment of an Operation's name (`projects/p/operations/<id>`)."""
    return str(operation.get("name", "")).rsplit("/", 1)[-1]


ENV.globals["op_id"] = op_id
ENV.globals["properties"] = client_properties
# Scripts and styles come only from /console/static: no inline script can run on a console page.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Exit(Exception):
    """Stop a console handler and answer with `response` (a redirect or an error page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def page(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = ENV.get_template(template).render(
        request=request, session=session, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=HEADERS)
    if SECRET_COOKIE in request.cookies and "secret" in context:
        response.delete_cookie(SECRET_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def failure_page(request: Request, session: Session | None, failure: ApiFailure) -> HTMLResponse:
    """An API error as a page with the API's own status code (a viewer's forged POST: 403)."""
    referer = request.headers.get("referer", "")
    same_site = urlsplit(referer).netloc == request.headers.get("host")
    back = referer if referer and same_site else "/console/"
    return page(
        request, "error.html", session, status_code=failure.status, failure=failure, back=back
    )
