"""The dashboard: server-rendered pages under ``/dashboard`` on the one aiohttp app.

Every page has a data twin from the same use case (``.json``; the concerns list and the huddles also
``.csv``), so what a person sees and what an analyst downloads never disagree. Pages are read
through ``bot.dashboard``; actions go through the core's own commands. No script anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from adapters.web import exports
from adapters.web.charts import chart
from adapters.web.security import (
    FLASH,
    PATH,
    SIGN_IN_KEY,
    VIEWER,
    clear_session_cookie,
    headers_middleware,
    secure_cookies,
    session_middleware,
    session_of,
    set_session_cookie,
    viewer_of,
)
from bot.bootstrap import App
from bot.dashboard import (
    ANSWER_LABELS,
    EXPORT_FIELDS,
    SEVERITIES,
    SOURCE_CHOICES,
    SOURCE_LABELS,
    STATUSES,
    Dashboard,
    FilterForm,
    Viewer,
)
from bot.errors import NotAllowed, NotFound
from bot.family import FAMILY_SOURCES, family_detail
from bot.limits import AttemptLimiter
from bot.model import QualityAim
from bot.trends import counted_types

APP_KEY: web.AppKey[App] = web.AppKey("huddlebot_dashboard", App)
LIMITER_KEY: web.AppKey[AttemptLimiter] = web.AppKey("sign_in_failures", AttemptLimiter)
SECURE_KEY: web.AppKey[bool] = web.AppKey("secure_cookies", bool)
# Failed sign-ins per client address: a link is 256 random bits, so this only stops a noisy loop.
FAILED_SIGN_INS = 20


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _dash(request: web.Request) -> Dashboard:
    return request.app[APP_KEY].dashboard


def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"path": request.path, "flash": None, "nav": ""}
    if APP_KEY in request.app:  # the organisation's own labels for concern types
        context["type_label"] = _dash(request).core.config.type_label
    if VIEWER in request:
        context["viewer"] = viewer_of(request)
        context["csrf"] = request.app[SIGN_IN_KEY].csrf_token(session_of(request))
    context.update(values)
    return context


def _render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, _context(request, **values), status=status)


def _refused(request: web.Request, error: NotAllowed | NotFound) -> web.Response:
    status = 403 if isinstance(error, NotAllowed) else 404
    if request.path.endswith(".json"):  # a page's JSON twin answers in JSON
        return web.json_response({"error": error.message}, status=status)
    title = "You cannot see this" if status == 403 else "Not found"
    return _render(request, "problem.html", status=status, title=title, message=error.message)


# --- signing in ---------------------------------------------------------------------------------


async def sign_in_page(request: web.Request) -> web.Response:
    """The link from chat lands here. It does not sign in by itself (chat previews open links)."""
    token = request.query.get("token", "")
    return _render(request, "sign_in.html", token=token[:100])


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Use the link (once): start a session and go to the overview."""
    sign_in_ = request.app[SIGN_IN_KEY]
    limiter = request.app[LIMITER_KEY]
    who, now = request.remote or "unknown", sign_in_.core.now()
    if limiter.blocked_until(who, now) is not None:
        return _render(
            request,
            "problem.html",
            status=429,
            title="Too many attempts",
            message="Too many sign-in links that did not work came from here. Wait a few minutes, then "
            "ask huddlebot for a new link in chat.",
        )
    form = await request.post()
    token = form.get("token")
    person = await sign_in_.redeem(token if isinstance(token, str) else "")
    if person is None:
        limiter.failed(who, now)
        return _render(
            request,
            "problem.html",
            status=400,
            title="This sign-in link does not work",
            message="Sign-in links work once, for 10 minutes. This one has expired, was used already, or "
            "was not copied whole. Ask huddlebot for a new one: type dashboard in your chat with it.",
        )
    limiter.succeeded(who)
    value, session = sign_in_.new_session(person)
    response = _see_other(f"{PATH}/")
    max_age = int((session.expires - now).total_seconds())
    set_session_cookie(response, value, secure=request.app[SECURE_KEY], max_age=max_age)
    return response


async def signed_out(request: web.Request) -> web.Response:
    """How to sign in (there are no passwords)."""
    return _render(request, "signed_out.html")


async def sign_out(request: web.Request) -> web.StreamResponse:
    """Forget the session in this browser."""
    response = _see_other(f"{PATH}/signed-out")
    clear_session_cookie(response, secure=request.app[SECURE_KEY])
    return response


# --- the overview -------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.StreamResponse:
    """The overview page, or its JSON twin."""
    viewer = viewer_of(request)
    page = await _dash(request).overview(viewer)
    if request.path.endswith(".json"):
        return web.json_response(page.as_data(), dumps=_dumps)
    mine: list[Any] = []
    if not viewer.sees_figures:
        mine, _ = await _dash(request).concerns(viewer, _dash(request).read_filter(viewer, {})[1])
    return _render(request, "overview.html", page=page, mine=mine, nav="overview")


# --- concerns -----------------------------------------------------------------------------------


async def _form(request: web.Request) -> Mapping[str, Sequence[str]]:
    """The filter's fields: from the form (POST), else the address (GET), which never carries words."""
    source: MultiDictProxy[Any] = await request.post() if request.method == "POST" else request.query
    fields: dict[str, list[str]] = {}
    for name in ("unit", "status", "severity", "aim", "type", "source", "from", "to", "q", "before"):
        if name == "q" and request.method != "POST":
            continue  # words a person searched for may name a patient: never in a URL
        fields[name] = [str(v) for v in source.getall(name, []) if isinstance(v, str)]
    return fields


def _before(values: Sequence[str]) -> tuple[datetime, int] | None:
    if not values:
        return None
    stamp, _, concern_id = values[0].partition("~")
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC), int(concern_id)
    except ValueError:
        return None


async def concerns(request: web.Request) -> web.StreamResponse:
    """The concerns list with its filter."""
    viewer = viewer_of(request)
    dash = _dash(request)
    fields = await _form(request)
    filled, where = dash.read_filter(viewer, fields)
    lines: list[Any] = []
    after = None
    if not filled.errors:
        lines, after = await dash.concerns(viewer, where, before=_before(fields.get("before", [])))
    status = 400 if filled.errors else 200
    return _render(
        request,
        "concerns.html",
        status=status,
        nav="concerns",
        form=filled,
        lines=lines,
        after=f"{after[0].isoformat()}~{after[1]}" if after else None,
        paged=bool(fields.get("before")),
        **_choices(dash, viewer),
    )


def _choices(dash: Dashboard, viewer: Viewer) -> dict[str, Any]:
    return {
        "units": dash.visible_units(viewer),
        "statuses": [(str(s), str(s).replace("_", " ").capitalize()) for s in STATUSES],
        "severities": [(str(s), str(s).capitalize()) for s in SEVERITIES],
        "aims": [(str(a), str(a).capitalize()) for a in QualityAim],
        "types": [(t, dash.core.config.type_label(t)) for t in counted_types(dash.core)],
        "sources": list(SOURCE_CHOICES.items()),
    }


async def concerns_export(request: web.Request) -> web.StreamResponse:
    """Every concern the filter matches, as CSV (UTF-8 with BOM) or JSON, streamed; audited."""
    viewer = viewer_of(request)
    dash = _dash(request)
    filled, where = dash.read_filter(viewer, await _form(request))
    if filled.errors:
        raise web.HTTPBadRequest(text="; ".join(filled.errors.values()))
    form = "csv" if request.path.endswith(".csv") else "json"
    rows = dash.export_concerns(viewer, where, form=form)
    stamp = dash.core.now().strftime("%Y-%m-%d")
    return await exports.stream_batches(
        request, rows, form=form, filename=f"huddlebot-concerns-{stamp}", fields=EXPORT_FIELDS
    )


async def concern_page(request: web.Request) -> web.StreamResponse:
    """A concern's page (thread, status history, audit trail, actions), or its JSON twin; audited."""
    viewer = viewer_of(request)
    ref = request.match_info["ref"]
    try:
        page = await _dash(request).concern_page(viewer, ref)
    except (NotAllowed, NotFound) as error:
        return _refused(request, error)
    if request.path.endswith(".json"):
        return web.json_response(page.as_data(), dumps=_dumps)
    flash = request.cookies.get(FLASH)
    family = await family_detail(_dash(request).core, ref, viewer.person)
    response = _render(
        request,
        "concern.html",
        nav="concerns",
        page=page,
        flash=_read_flash(flash),
        errors={},
        values={},
        family=family,
    )
    if flash:
        response.del_cookie(FLASH, path=PATH)
    return response


_ACTIONS = {
    "acknowledge": ("note", False, "Acknowledge"),
    "reply": ("text", True, "Enter your reply"),
    "resolve": ("text", True, "Enter what was done"),
    "in_progress": ("note", False, "Mark in progress"),
    "not_possible": ("reason", True, "Enter why it is not possible now"),
}
TITLE_LIMIT = 120  # the stoplight's short title, as on the chat forms


async def concern_action(request: web.Request) -> web.StreamResponse:
    """Acknowledge, reply, mark in progress, resolve or close as not possible now: the chat's commands."""
    viewer = viewer_of(request)
    ref, action = request.match_info["ref"], request.match_info["action"]
    form = await request.post()
    field, required, message = _ACTIONS[action]
    text = str(form.get(field) or "").strip()
    title = str(form.get("title") or "").strip() or None
    dash = _dash(request)
    error = message if required and not text else None
    if title and len(title) > TITLE_LIMIT:
        field, error = "title", f"Keep the title to {TITLE_LIMIT} characters (it has {len(title)})"
    if error:
        try:
            page = await dash.concern_page(viewer, ref)
        except (NotAllowed, NotFound) as error:
            return _refused(request, error)
        return _render(
            request,
            "concern.html",
            status=400,
            nav="concerns",
            page=page,
            flash=None,
            errors={f"{action}-{field}": error},
            values={},
            family=await family_detail(dash.core, ref, viewer.person),
        )
    try:
        reply = await dash.act(viewer, ref, action, text, title)
    except (NotAllowed, NotFound) as error:
        return _refused(request, error)
    response = _see_other(f"{PATH}/concerns/{ref}")
    response.set_cookie(
        FLASH,
        json.dumps({"tone": reply.tone, "text": reply.text[:600]}),
        path=PATH,
        httponly=True,
        secure=request.app[SECURE_KEY],
        samesite="Lax",
        max_age=120,
    )
    return response


def _read_flash(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        data = json.loads(value)
        return {"tone": str(data["tone"]), "text": str(data["text"])}
    except (ValueError, KeyError, TypeError):
        return None


# --- huddles ------------------------------------------------------------------------------------


async def huddles(request: web.Request) -> web.StreamResponse:
    """Each unit's recent huddle runs, and roll-ups for departments."""
    viewer = viewer_of(request)
    dash = _dash(request)
    unit = request.query.get("unit") or None
    try:
        runs, rollups = await dash.huddle_runs(viewer, unit)
    except NotAllowed as error:
        return _refused(request, error)
    if request.path.endswith(".json"):
        return web.json_response(
            {"runs": [exports.run_row(dash, r) for r in runs], "rollups": [t.as_data() for t in rollups]},
            dumps=_dumps,
        )
    return _render(
        request,
        "huddles.html",
        nav="huddles",
        runs=[(r, dash.run_label(r)) for r in runs],
        rollups=rollups,
        units=dash.visible_units(viewer),
        unit=unit or "",
    )


async def stoplight_page(request: web.Request) -> web.StreamResponse:
    """The "you said, we did" report of a unit the viewer leads, as its channel gets it."""
    viewer = viewer_of(request)
    dash = _dash(request)
    try:
        unit, view = await dash.stoplight(viewer, request.query.get("unit") or None)
    except NotAllowed as error:
        return _refused(request, error)
    if request.path.endswith(".json"):
        return web.json_response({"unit": unit.id, **view.model_dump()}, dumps=_dumps)
    return _render(
        request,
        "stoplight.html",
        nav="stoplight",
        report=view,
        units=dash.visible_units(viewer),
        unit=unit.id,
    )


async def huddles_export(request: web.Request) -> web.StreamResponse:
    """A year of huddle runs, as CSV or JSON; audited."""
    viewer = viewer_of(request)
    dash = _dash(request)
    form = "csv" if request.path.endswith(".csv") else "json"
    try:
        runs = await dash.export_runs(viewer, request.query.get("unit") or None, form=form)
    except NotAllowed as error:
        raise web.HTTPForbidden(text=error.message) from None

    async def rows() -> Any:
        for run in runs:
            yield exports.run_row(dash, run)

    stamp = dash.core.now().strftime("%Y-%m-%d")
    return await exports.stream(
        request, rows(), form=form, filename=f"huddlebot-huddles-{stamp}", fields=exports.RUN_FIELDS
    )


async def huddle_run(request: web.Request) -> web.StreamResponse:
    """One huddle run with its answers and comments."""
    viewer = viewer_of(request)
    dash = _dash(request)
    try:
        run, responses = await dash.run_page(viewer, int(request.match_info["run_id"]))
    except (NotAllowed, NotFound) as error:
        return _refused(request, error)
    return _render(
        request,
        "huddle_run.html",
        nav="huddles",
        run=run,
        label=dash.run_label(run),
        responses=[
            (r, ANSWER_LABELS.get(r.answer, r.answer), dash._when(run.unit_id, r.created_at))
            for r in responses
        ],
    )


# --- wiring -------------------------------------------------------------------------------------


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


async def _to_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(f"{PATH}/")


def make_dashboard(app: App) -> web.Application:
    """The dashboard as an aiohttp sub-application (mounted at ``/dashboard``)."""
    sub = web.Application(middlewares=[headers_middleware, session_middleware])
    sub[APP_KEY] = app
    sub[SIGN_IN_KEY] = app.sign_in
    sub[LIMITER_KEY] = AttemptLimiter(FAILED_SIGN_INS, timedelta(minutes=10))
    sub[SECURE_KEY] = secure_cookies(app.settings.dashboard_url)
    environment = aiohttp_jinja2.setup(
        sub,
        loader=jinja2.PackageLoader("adapters.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    environment.globals.update(
        chart=chart, FilterForm=FilterForm, SOURCE_LABELS=SOURCE_LABELS, FAMILY_SOURCES=FAMILY_SOURCES
    )
    static = Path(str(resources.files("adapters.web") / "static"))
    r = sub.router
    r.add_get("/", overview)
    r.add_get("/overview.json", overview)
    r.add_get("/sign-in", sign_in_page)
    r.add_post("/sign-in", sign_in)
    r.add_get("/signed-out", signed_out)
    r.add_post("/sign-out", sign_out)
    for method in (r.add_get, r.add_post):
        method("/concerns", concerns)
        method("/concerns.csv", concerns_export)
        method("/concerns.json", concerns_export)
    r.add_get(r"/concerns/{ref:C-\d{1,12}}", concern_page)
    r.add_get(r"/concerns/{ref:C-\d{1,12}}.json", concern_page)
    actions = "|".join(_ACTIONS)
    r.add_post(r"/concerns/{ref:C-\d{1,12}}/{action:" + actions + "}", concern_action)
    r.add_get("/stoplight", stoplight_page)
    r.add_get("/stoplight.json", stoplight_page)
    r.add_get("/huddles", huddles)
    r.add_get("/huddles.json", huddles)
    r.add_get("/huddles.csv", huddles_export)
    r.add_get("/huddles/export.json", huddles_export)
    r.add_get(r"/huddles/{run_id:\d{1,12}}", huddle_run)
    r.add_static("/static/", static, append_version=False)
    return sub


def install(web_app: web.Application, app: App) -> None:
    """Mount the dashboard on ``web_app``."""
    web_app.router.add_get(PATH, _to_slash)
    web_app.add_subapp(PATH, make_dashboard(app))
