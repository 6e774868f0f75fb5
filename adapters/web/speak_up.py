"""The public speak-up page per unit (``/speak-up/<unit>``): patients and families, no sign-in.

Phone-first, no script, nothing from a third party; English and Spanish from gettext catalogs
(``adapters/web/locale``), chosen from Accept-Language with a switch (``?lang=es``). Abuse is held
back by a signed form token (CSRF without a session), a honeypot field, a body size limit, a limit
per client address and per unit (a kind 429 page), and, for the leaders' channel, the flood guard in
``bot.family``. What the family typed is stored and shown on the dashboard only.
"""

from __future__ import annotations

import gettext
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from adapters.web.security import headers_middleware
from bot.bootstrap import App
from bot.config import FAMILY_LANGUAGES
from bot.errors import Refusal
from bot.family import (
    MAX_CONTACT,
    MAX_WORDS,
    ROOM,
    URGENCIES,
    AnswerFamilyConcern,
    RaiseFamilyConcern,
    family_thread,
    family_unit,
)
from bot.limits import AttemptLimiter

PATH = "/speak-up"
APP_KEY: web.AppKey[App] = web.AppKey("huddlebot_speak_up", App)
PER_ADDRESS_KEY: web.AppKey[AttemptLimiter] = web.AppKey("speak_up_per_address", AttemptLimiter)
PER_UNIT_KEY: web.AppKey[AttemptLimiter] = web.AppKey("speak_up_per_unit", AttemptLimiter)
FORM_KEY: web.AppKey[bytes] = web.AppKey("speak_up_form_key", bytes)
# Sends (and answers) per client address, and per unit, before the "please wait" page.
PER_ADDRESS = (5, timedelta(minutes=10))
PER_UNIT = (30, timedelta(hours=1))
FORM_LIFETIME = timedelta(hours=4)  # a form token older than this is refused kindly
MAX_BODY = 16 * 1024
CODE_CHARS = 40
_CATALOGS: dict[str, gettext.NullTranslations] = {}


def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for ``lang`` (English is the source language: no catalog needed)."""
    if lang not in _CATALOGS:
        if lang == "en":
            _CATALOGS[lang] = gettext.NullTranslations()
        else:
            locale_dir = Path(str(resources.files("adapters.web") / "locale"))
            _CATALOGS[lang] = gettext.translation("speak_up", locale_dir, languages=[lang])
    return _CATALOGS[lang]


def choose_language(request: web.Request) -> str:
    """``?lang=`` (the switch), else the best of Accept-Language, else English."""
    asked = request.query.get("lang") or ""
    if request.method == "POST" and not asked:
        asked = request.get("form_lang", "")
    if asked in FAMILY_LANGUAGES:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(request.headers.get("Accept-Language", "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _quality, _position, lang in sorted(ranked):
        if lang in FAMILY_LANGUAGES:
            return lang
    return "en"


def _form_token(key: bytes, unit: str, issued: int, nonce: str | None = None) -> str:
    """``issued.nonce.mac``: the nonce makes each form one submission (a double click sends once)."""
    nonce = nonce or secrets.token_hex(8)
    mac = hmac.new(key, f"speak-up\0{unit}\0{issued}\0{nonce}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{issued}.{nonce}.{mac}"


def _token_ok(key: bytes, unit: str, token: str, now: float) -> bool:
    issued_text, _, rest = token.partition(".")
    nonce, _, _mac = rest.partition(".")
    if not issued_text.isdigit() or not re.fullmatch(r"[0-9a-f]{16}", nonce):
        return False
    issued = int(issued_text)
    if not 0 <= now - issued <= FORM_LIFETIME.total_seconds():
        return False
    return hmac.compare_digest(_form_token(key, unit, issued, nonce), token)


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _render(request: web.Request, template: str, lang: str, status: int = 200, **values: Any) -> web.Response:
    app = request.app[APP_KEY]
    translations = catalog(lang)
    unit = values.get("unit")
    urgent = app.core.config.organization.urgent_help
    context = {
        "_": translations.gettext,
        "lang": lang,
        # Each catalog translates "English" into its own language's name: "Español" in Spanish.
        "switch": [(code, catalog(code).gettext("English")) for code in FAMILY_LANGUAGES if code != lang],
        "urgent_help": urgent.get(lang) or urgent.get("en", ""),
        "path": request.path,
        "errors": {},
        "values": {},
        "offer_contact": app.core.sealer is not None,
        "unit": unit,
    }
    context.update(values)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Content-Language"] = lang
    return response


def _unit_or_404(request: web.Request) -> Any:
    unit = family_unit(request.app[APP_KEY].core, request.match_info["unit"])
    if unit is None:
        # In the visitor's language too: a poster's address mistyped, or a page turned off.
        lang = choose_language(request)
        page = _render(request, "speak_up_problem.html", lang, status=404, problem="no_page")
        raise web.HTTPNotFound(text=page.text, content_type="text/html", headers={"Content-Language": lang})
    return unit


def _wait_page(request: web.Request, lang: str, unit: Any, retry: float) -> web.Response:
    response = _render(request, "speak_up_wait.html", lang, status=429, unit=unit)
    response.headers["Retry-After"] = str(max(1, int(retry)))
    return response


def _limited(request: web.Request, unit_id: str) -> float | None:
    """Seconds to wait before another send from here (or to this unit), or None."""
    now = request.app[APP_KEY].core.now()
    waits = [
        request.app[PER_ADDRESS_KEY].blocked_until(_client(request), now),
        request.app[PER_UNIT_KEY].blocked_until(unit_id, now),
    ]
    until = max((w for w in waits if w is not None), default=None)
    return (until - now).total_seconds() if until else None


def _count(request: web.Request, unit_id: str) -> None:
    now = request.app[APP_KEY].core.now()
    request.app[PER_ADDRESS_KEY].failed(_client(request), now)
    request.app[PER_UNIT_KEY].failed(unit_id, now)


async def _post_form(request: web.Request) -> dict[str, str] | None:
    """The form's fields, or None when the body is too large to be a real form."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return None
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v for k, v in pairs}


def _token_refused(request: web.Request, form: dict[str, str], unit_id: str) -> bool:
    key = request.app[FORM_KEY]
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
        return True
    return not _token_ok(
        key, unit_id, form.get("form_token", ""), request.app[APP_KEY].core.now().timestamp()
    )


# --- the page and the form ----------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    unit = _unit_or_404(request)
    lang = choose_language(request)
    return _form_page(request, lang, unit)


def _form_page(
    request: web.Request,
    lang: str,
    unit: Any,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    token = _form_token(request.app[FORM_KEY], unit.id, int(request.app[APP_KEY].core.now().timestamp()))
    return _render(
        request,
        "speak_up.html",
        lang,
        status=status,
        unit=unit,
        form_token=token,
        errors=errors or {},
        values=values or {},
        urgencies=URGENCIES,
        max_words=MAX_WORDS,
    )


async def _checked_form(request: web.Request) -> web.Response | tuple[Any, dict[str, str], str]:
    """A posted form's unit, fields and language; or the kind page for one too long or too old."""
    unit = _unit_or_404(request)
    form = await _post_form(request)
    lang = choose_language(request)
    if form is None:
        return _render(request, "speak_up_problem.html", lang, status=413, unit=unit, problem="too_long")
    if form.get("lang") in FAMILY_LANGUAGES:
        lang = form["lang"]
    if _token_refused(request, form, unit.id):
        return _render(request, "speak_up_problem.html", lang, status=403, unit=unit, problem="old_form")
    return unit, form, lang


async def send(request: web.Request) -> web.Response:
    checked = await _checked_form(request)
    if isinstance(checked, web.Response):
        return checked
    unit, form, lang = checked
    retry = _limited(request, unit.id)
    if retry is not None:
        return _wait_page(request, lang, unit, retry)
    if form.get("website"):  # the honeypot: people never see it, so only a robot fills it in
        _count(request, unit.id)
        return _render(request, "speak_up_problem.html", lang, status=400, unit=unit, problem="robot")
    _ = catalog(lang).gettext  # "_": the name pybabel extracts by default
    fields = ("source", "text", "room", "urgency", "contact")
    values = {name: form.get(name, "")[: MAX_WORDS + 10] for name in fields}
    # In the page's order, as the error summary lists them.
    errors: dict[str, str] = {}
    if not values["source"]:  # any other value is the core's to refuse: the radios send only two
        errors["source"] = _("Choose who is writing")
    text = values["text"].strip()
    if not text:
        errors["text"] = _("Enter what worries you or your idea")
    elif len(text) > MAX_WORDS:
        errors["text"] = _("What you wrote must be %(max)d characters or fewer") % {"max": MAX_WORDS}
    if values["room"].strip() and not ROOM.match(values["room"].strip()):
        errors["room"] = _("Enter a room or bed like 12 or 4W-12, or leave it empty")
    if values["urgency"] not in URGENCIES:
        errors["urgency"] = _("Choose how soon it needs attention")
    contact = values["contact"].strip() if request.app[APP_KEY].core.sealer is not None else ""
    if len(contact) > MAX_CONTACT:
        errors["contact"] = _("A phone number or email must be %(max)d characters or fewer") % {
            "max": MAX_CONTACT
        }
    if errors:
        return _form_page(request, lang, unit, status=400, errors=errors, values=values)
    _count(request, unit.id)
    app = request.app[APP_KEY]
    reply = await app.core.handle(
        RaiseFamilyConcern(
            unit=unit.id,
            text=text,
            urgency=values["urgency"],
            source=values["source"],
            language=lang,
            room=values["room"].strip() or None,
            contact=contact or None,
            dashboard_url=app.settings.dashboard_url,
            idempotency_key="family:" + hashlib.sha256(form.get("form_token", "").encode()).hexdigest()[:40],
        )
    )
    if reply.code == "bad_source":  # not a choice the page offers: a forged form, not a person's slip
        return _render(request, "speak_up_problem.html", lang, status=400, unit=unit, problem="forged")
    if not reply.ok or not reply.receipt_code:
        return _form_page(
            request, lang, unit, status=400, errors={"text": _("Check what you wrote")}, values=values
        )
    return _render(
        request, "speak_up_sent.html", lang, unit=unit, code=reply.receipt_code, urgency=values["urgency"]
    )


# --- reading the leaders' replies and answering ------------------------------------------------


async def follow_up_page(request: web.Request) -> web.Response:
    unit = _unit_or_404(request)
    lang = choose_language(request)
    return _follow_up_form(request, lang, unit)


def _follow_up_form(
    request: web.Request, lang: str, unit: Any, status: int = 200, error: str | None = None
) -> web.Response:
    token = _form_token(request.app[FORM_KEY], unit.id, int(request.app[APP_KEY].core.now().timestamp()))
    return _render(
        request, "speak_up_follow_up.html", lang, status=status, unit=unit, form_token=token, error=error
    )


async def follow_up(request: web.Request) -> web.Response:
    """Read the conversation with the code (POST: a code never goes in an address); with text, answer."""
    checked = await _checked_form(request)
    if isinstance(checked, web.Response):
        return checked
    unit, form, lang = checked
    _ = catalog(lang).gettext  # "_": the name pybabel extracts by default
    app = request.app[APP_KEY]
    code = form.get("code", "")[:CODE_CHARS]
    answer = form.get("answer", "").strip()
    answer_error = None
    if "answer" in form:
        retry = _limited(request, unit.id)
        if retry is not None:
            return _wait_page(request, lang, unit, retry)
        if not answer:
            answer_error = _("Enter your answer")
        elif len(answer) > MAX_WORDS:
            answer_error = _("What you wrote must be %(max)d characters or fewer") % {"max": MAX_WORDS}
        else:
            _count(request, unit.id)
            reply = await app.core.handle(AnswerFamilyConcern(code=code, text=answer, who=_client(request)))
            if not reply.ok:
                message = _("This conversation is closed.") if reply.code == "already_resolved" else None
                if message is None:
                    return _follow_up_form(request, lang, unit, status=400, error=_code_error(_, reply.code))
                answer_error = message
    try:
        thread = await family_thread(app.core, code, _client(request))
    except Refusal as refusal:
        return _follow_up_form(request, lang, unit, status=400, error=_code_error(_, refusal.code))
    token = _form_token(request.app[FORM_KEY], unit.id, int(app.core.now().timestamp()))
    zone = app.core.config.timezone_for(unit.id)
    return _render(
        request,
        "speak_up_thread.html",
        lang,
        status=400 if answer_error else 200,
        unit=unit,
        thread=thread,
        code=code,
        form_token=token,
        answer_error=answer_error,
        answered=bool(answer) and answer_error is None,
        when=lambda at: at.astimezone(zone).strftime("%d/%m %H:%M"),
    )


def _code_error(_: Any, code: str | None) -> str:
    if code == "rate_limited":
        return _("Too many codes that did not match came from here. Wait 15 minutes and try again.")
    return _("That code does not match. Check it and try again: it looks like C-1234-ABCD-EFGH-JKMN-PQRS")


async def style(request: web.Request) -> web.FileResponse:
    return web.FileResponse(Path(str(resources.files("adapters.web") / "static" / "speak_up.css")))


def make_speak_up(app: App) -> web.Application:
    """The public pages as an aiohttp sub-application (mounted at ``/speak-up``)."""
    sub = web.Application(middlewares=[headers_middleware], client_max_size=MAX_BODY)
    sub[APP_KEY] = app
    sub[PER_ADDRESS_KEY] = AttemptLimiter(*PER_ADDRESS)
    sub[PER_UNIT_KEY] = AttemptLimiter(*PER_UNIT)
    # Replicas that share the sealing key accept each other's form tokens; otherwise one per process.
    sub[FORM_KEY] = hmac.new(app.core.receipt_key, b"speak-up forms", hashlib.sha256).digest()
    aiohttp_jinja2.setup(
        sub,
        loader=jinja2.PackageLoader("adapters.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    unit = r"/{unit:[a-z0-9][a-z0-9_-]{0,63}}"
    r = sub.router
    r.add_get("/style.css", style)
    r.add_get(unit, page)
    r.add_post(unit, send)
    r.add_get(unit + "/follow-up", follow_up_page)
    r.add_post(unit + "/follow-up", follow_up)
    return sub


def install(web_app: web.Application, app: App) -> None:
    """Mount the public pages on ``web_app``."""
    web_app.add_subapp(PATH, make_speak_up(app))
