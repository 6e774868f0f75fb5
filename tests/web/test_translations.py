"""The family page's translations: complete, built from the catalog, and nothing said outside it.

1. Babel extracts every message of the public page from its Python and templates, as
   ``pybabel extract -F adapters/web/locale/babel.cfg`` does, and each is in the template (``.pot``)
   and in every language's ``.po`` with a translation that is neither empty nor fuzzy, with the
   same placeholders; the committed ``.mo`` is that ``.po`` compiled (compared in memory).
2. Every page a family can see (the form, its errors, the receipt, the replies with each kind of
   update, the problem, wait and not-found pages), rendered with a catalog that brackets every
   message, shows no words outside the brackets but the unit's name, the organisation's urgent-help
   text and what people wrote: a string built outside the catalog shows up here.
"""

from __future__ import annotations

import gettext
import html.parser
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.util import pathmatch

import adapters.web.speak_up as speak_up
from bot.config import FAMILY_LANGUAGES
from tests.web.conftest import Web, csrf_of
from tests.web.test_speak_up import CODE, _token

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "adapters" / "web" / "locale"
DOMAIN = "speak_up"
LANGUAGES = [lang for lang in FAMILY_LANGUAGES if lang != "en"]  # English is the source language


def _extracted() -> dict[str, list[str]]:
    """Every message of the public page, with where it was found, by babel.cfg's own mapping."""
    with (LOCALE / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(LOCALE / "babel.cfg"))
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "adapters").rglob("*")):
        name = path.relative_to(ROOT).as_posix()
        # As pybabel matches a file: the first pattern that matches it, by Babel's own globbing.
        pattern, method = next(((p, m) for p, m in method_map if pathmatch(p, name)), ("", "ignore"))
        if method == "ignore":
            continue
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=DEFAULT_KEYWORDS, options=options_map.get(pattern, {})
        ):
            assert isinstance(message, str), f"{name}:{lineno}: plural forms are not used here"
            found.setdefault(message, []).append(f"{name}:{lineno}")
    return found


def test_babel_extracts_the_page_from_its_python_and_its_templates() -> None:
    found = _extracted()
    files = {where.split(":")[0] for places in found.values() for where in places}
    assert "adapters/web/speak_up.py" in files
    assert {f"adapters/web/templates/{name}" for name in ("speak_up.html", "speak_up_base.html")} <= files
    assert "Tell us what worries you" in found and "Enter what worries you or your idea" in found
    with (LOCALE / f"{DOMAIN}.pot").open("rb") as f:
        template = read_po(f)
    missing = sorted(set(found) - {m.id for m in template if m.id})
    assert not missing, f"run pybabel extract (README): the .pot lacks {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_has_a_translation_and_the_mo_is_the_po_compiled(lang: str) -> None:
    po_path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    problems = []
    for message, places in sorted(_extracted().items()):
        entry = catalog.get(message)
        if entry is None:
            problems.append(f"missing: {message!r} ({places[0]})")
        elif not entry.string:
            problems.append(f"not translated: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif re.findall(r"%\(\w+\)\w", message) != re.findall(r"%\(\w+\)\w", str(entry.string)):
            problems.append(f"placeholders differ: {message!r}")
    for entry, errors in catalog.check():
        problems += [f"{entry.id!r}: {error}" for error in errors]
    assert not problems, f"{po_path.relative_to(ROOT)}:\n" + "\n".join(problems)

    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with (po_path.with_suffix(".mo")).open("rb") as f:
        committed = read_mo(f)
    expected = read_mo(compiled)
    assert {m.id: m.string for m in committed if m.id} == {m.id: m.string for m in expected if m.id}, (
        "the committed .mo is not the .po compiled: run pybabel compile (README)"
    )


# --- nothing outside the catalog ---------------------------------------------------------------

OPEN, CLOSE = "\u27e6", "\u27e7"


class _Bracketed(gettext.NullTranslations):
    """A catalog that says every message in brackets, so what is not in brackets did not come from it."""

    def gettext(self, message: str) -> str:
        return f"{OPEN}{message}{CLOSE}"


class _Text(html.parser.HTMLParser):
    """What a person sees or hears of a page: its text and the attributes read aloud."""

    SPOKEN = ("title", "aria-label", "alt", "placeholder")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # A language's own name in the switch (lang="en") is said in that language by design.
        if tag in ("style", "script") or (tag == "a" and values.get("hreflang")):
            self._skip.append(tag)
        self.parts += [v for k, v in attrs if k in self.SPOKEN and v]

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _strays(page: str, allowed: list[str]) -> list[str]:
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.parts)
    text = re.sub(f"{OPEN}[^{CLOSE}]*{CLOSE}", " ", text)
    text = re.sub(r"C-\d+(-[0-9A-Z]{4})*", " ", text)  # a reference or a receipt code
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, " ")
    return re.findall(r"[^\W\d_][\w'’-]*", text)  # any word left was said outside the catalog


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_no_words_on_the_family_pages_come_from_outside_the_catalog(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    bracketed = _Bracketed()
    real = speak_up.catalog
    monkeypatch.setattr(speak_up, "catalog", lambda lang: bracketed if lang == "es" else real(lang))
    config = web.harness.app.core.config
    unit = config.unit("4west")
    assert unit is not None
    words, reply, note, long = "Mi padre tiene dolor", "Voy ahora", "Lo vi", "x" * 2001
    # What is not the page's to translate: names, the organisation's text, what people wrote.
    allowed = [unit.name, config.organization.urgent_help["es"], words, reply, note, long]
    pages: dict[str, str] = {}
    client = await web.client()
    try:

        async def get(name: str, path: str, status: int = 200) -> str:
            response = await client.get(path)
            assert response.status == status, (name, response.status)
            pages[name] = await response.text()
            return pages[name]

        async def post(name: str, path: str, data: dict[str, str], status: int = 200) -> str:
            response = await client.post(path, data=data)
            assert response.status == status, (name, response.status, await response.text())
            pages[name] = await response.text()
            return pages[name]

        form = await get("form", "/speak-up/4west?lang=es")
        token = _token(form)
        await post("errors", "/speak-up/4west", {"form_token": token, "lang": "es", "room": "no!"}, 400)
        await post("too long", "/speak-up/4west", {"form_token": token, "lang": "es", "text": long}, 400)
        await post("old form", "/speak-up/4west", {"form_token": "1.2.3", "lang": "es"}, 403)
        await post(
            "forged",
            "/speak-up/4west",
            {"form_token": token, "lang": "es", "source": "x", "text": words, "urgency": "now"},
            400,
        )
        await post(
            "robot",
            "/speak-up/4west",
            {
                "form_token": _token(await get("form", "/speak-up/4west?lang=es")),
                "lang": "es",
                "website": "x",
            },
            400,
        )
        sent = await post(
            "sent",
            "/speak-up/4west",
            {
                "form_token": _token(await get("form", "/speak-up/4west?lang=es")),
                "lang": "es",
                "source": "patient",
                "text": words,
                "urgency": "now",
            },
        )
        found = CODE.search(sent)
        assert found, sent
        code = found.group(0)
        ref = code[: code.index("-", 2)]
        follow = await get("follow-up", "/speak-up/4west/follow-up?lang=es")
        await post(
            "bad code",
            "/speak-up/4west/follow-up",
            {"form_token": _token(follow), "lang": "es", "code": "C-1"},
            400,
        )
        await get("not found", "/speak-up/micu?lang=es", 404)

        # Every kind of update a leader's actions write into the conversation, then the replies page.
        dana = await web.signed_in("dana")
        try:
            for action, field, text in (
                ("acknowledge", "note", note),
                ("reply", "text", reply),
                ("resolve", "text", "Hecho"),
            ):
                concern = await (await dana.get(f"/dashboard/concerns/{ref}")).text()
                done = await dana.post(
                    f"/dashboard/concerns/{ref}/{action}",
                    data={"csrf": csrf_of(concern), field: text},
                    allow_redirects=False,
                )
                assert done.status == 303, (action, await done.text())
        finally:
            await dana.close()
        allowed.append("Hecho")
        thread = await post(
            "replies", "/speak-up/4west/follow-up", {"form_token": _token(follow), "lang": "es", "code": code}
        )
        assert reply in thread and f"has read your message.{CLOSE}" in thread
        assert "Acknowledged by" not in thread and "What we did" not in thread
    finally:
        await client.close()

    allowed.append(config.people["dana"].name)
    strays = {name: _strays(page, allowed) for name, page in pages.items()}
    assert not any(strays.values()), f"said outside the catalog: {strays}"


def test_the_bracketing_catalog_would_catch_a_stray() -> None:
    assert _strays(f"<p>{OPEN}Sent{CLOSE} Thank you</p>", []) == ["Thank", "you"]
    assert _strays(f'<p title="Hello">{OPEN}Sent{CLOSE} 12/03 10:40 · C-1042</p>', []) == ["Hello"]


@pytest.mark.parametrize(
    ("said", "event", "who", "words"),
    [
        ("Acknowledged by Dana Leader.", "acknowledged", "Dana Leader", ""),
        ("Acknowledged by Dana Leader. Seen, coming", "acknowledged", "Dana Leader", "Seen, coming"),
        ("Dana Leader marked it in progress. Pharmacy asked", "in_progress", "Dana Leader", "Pharmacy asked"),
        ("Resolved by Dana Leader. What we did: New pump", "resolved", "Dana Leader", "New pump"),
        ("Not possible now (Dana Leader). Why: No budget", "not_possible", "Dana Leader", "No budget"),
        ("Escalated to Department of Medicine.", "escalated", "", ""),
        ("Something the core says one day", "update", "", ""),
    ],
)
def test_the_cores_english_updates_are_read_back_as_events(
    said: str, event: str, who: str, words: str
) -> None:
    from datetime import UTC, datetime

    from bot.family import system_line

    line = system_line(said, datetime(2026, 11, 30, tzinfo=UTC))
    assert (line.event, line.author, line.text) == (event, who, words)
