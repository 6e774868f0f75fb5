"""What every dashboard response carries and every request must show: headers, session, CSRF.

- Headers: a Content-Security-Policy with no inline script (there is no script at all), no framing,
  no referrer (a sign-in link must not leak), no caching (pages hold concern text).
- Session: a signed cookie (``bot.sign_in``), HttpOnly, SameSite=Lax, Secure unless the dashboard is
  plain-HTTP localhost (development); path ``/dashboard``.
- CSRF: every POST carries the session's token in a form field; without it, 403 and nothing changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.dashboard import Viewer, viewer_for
from bot.sign_in import Session, SignIn

COOKIE = "huddlebot_session"
FLASH = "huddlebot_flash"
PATH = "/dashboard"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Pages a person reaches without a session: signing in, and the stylesheet.
PUBLIC = ("/dashboard/sign-in", "/dashboard/signed-out", "/dashboard/static/")

SIGN_IN_KEY: web.AppKey[SignIn] = web.AppKey("sign_in", SignIn)
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)
VIEWER: web.RequestKey[Viewer] = web.RequestKey("viewer", Viewer)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def secure_cookies(dashboard_url: str) -> bool:
    """False only for plain-HTTP localhost (development); everywhere else the cookie is Secure."""
    parts = urlsplit(dashboard_url)
    return not (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"))


def set_session_cookie(response: web.StreamResponse, value: str, *, secure: bool, max_age: int) -> None:
    """The session cookie, with every attribute it must have."""
    response.set_cookie(
        COOKIE, value, path=PATH, httponly=True, secure=secure, samesite="Lax", max_age=max_age
    )


def clear_session_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    """Forget the session in this browser."""
    response.del_cookie(COOKIE, path=PATH, secure=secure, httponly=True, samesite="Lax")


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every response, error pages included, carries the security headers."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(HEADERS)
        raise
    if not response.prepared:
        response.headers.update(HEADERS)
    return response


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is signed in (from the cookie); a page that needs a session without one sends them to
    the sign-in explanation; a POST without the session's CSRF token is refused."""
    sign_in = request.app[SIGN_IN_KEY]
    await sign_in.ready()
    session = sign_in.read_session(request.cookies.get(COOKIE))
    path = request.path
    if session is not None:
        request[SESSION] = session
        request[VIEWER] = viewer_for(sign_in.core, session.person)
    if path.startswith(PUBLIC):
        return await handler(request)
    if session is None:
        if request.method == "GET" and not path.endswith((".json", ".csv")):
            raise web.HTTPSeeOther("/dashboard/signed-out")
        raise web.HTTPUnauthorized(text="Sign in first: ask huddlebot for a dashboard link in chat.")
    if request.method == "POST":
        form = await request.post()
        token = form.get("csrf")
        if not isinstance(token, str) or not sign_in.csrf_ok(session, token):
            raise web.HTTPForbidden(
                text="This form is out of date or did not come from the dashboard. Nothing was changed. "
                "Go back, reload the page and try again."
            )
    return await handler(request)


def viewer_of(request: web.Request) -> Viewer:
    """The signed-in viewer (only on pages behind the session middleware)."""
    return request[VIEWER]


def session_of(request: web.Request) -> Session:
    """The signed-in session."""
    return request[SESSION]
