"""The dialogs (Teams task modules): "Raise a safety concern", the anonymous follow-up, and a
leader's "Log a round".

A dialog is the Teams analogue of a Slack modal: what is typed in it is not a chat message, so it is
the only way in for an anonymous concern, and the only place its receipt code is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.teams.cards import CARD_TYPE, card, safe, text_block
from adapters.teams.words import FOLLOW_UP_DIALOG
from bot.config import OrgConfig
from bot.model import Anonymity, ConcernType, QualityAim, Severity
from bot.rounding import MAX_COUNT, MAX_ITEMS

CONCERN_FORM = "concern"
FOLLOW_UP_FORM = "follow_up"
ROUND_FORM = "round"
FORM_KEY = "huddlebot_form"

_SEVERITY_LABELS = {
    Severity.LOW: "Low",
    Severity.MODERATE: "Moderate",
    Severity.HIGH: "High",
    Severity.IMMEDIATE: "Immediate: stop the line",
}
_ANONYMITY_LABELS = {
    Anonymity.NAMED: "Named: the unit's leaders see your name",
    Anonymity.CONFIDENTIAL: "Confidential: only the patient-safety officer sees your name",
    Anonymity.ANONYMOUS: "Anonymous: nobody can find out it was you, IT included",
}


@dataclass(frozen=True, slots=True)
class ConcernForm:
    """What the concern dialog holds (to fill it in again after a warning)."""

    text: str = ""
    severity: str = Severity.MODERATE
    category: str = QualityAim.SAFE
    concern_type: str = ConcernType.OTHER
    unit: str | None = None
    anonymity: str = Anonymity.NAMED
    notify_me: bool = False
    post_anyway: bool = False
    share: bool = False
    involves_leader: bool = False
    run_id: int | None = None

    @classmethod
    def from_submit(cls, data: dict[str, Any]) -> ConcernForm:
        """Read a submitted form; anything missing keeps its default."""

        def text(key: str, default: str = "") -> str:
            value = data.get(key)
            return value.strip() if isinstance(value, str) else default

        run = data.get("run")
        return cls(
            text=text("text"),
            severity=text("severity", Severity.MODERATE) or Severity.MODERATE,
            category=text("category", QualityAim.SAFE) or QualityAim.SAFE,
            concern_type=text("concern_type", ConcernType.OTHER) or ConcernType.OTHER,
            unit=text("unit") or None,
            anonymity=text("anonymity", Anonymity.NAMED) or Anonymity.NAMED,
            notify_me=text("notify_me") == "true",
            post_anyway=text("post_anyway") == "true",
            share=text("share") == "true",
            involves_leader=text("involves_leader") == "true",
            run_id=run if isinstance(run, int) else None,
        )


def _choices(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"title": title, "value": value} for value, title in pairs]


def concern_form(
    config: OrgConfig,
    form: ConcernForm,
    *,
    notify_available: bool,
    warning: str | None = None,
    phi_warning: bool = False,
) -> dict[str, Any]:
    """The "Raise a safety concern" card."""
    body: list[dict[str, Any]] = []
    if warning:
        body.append(
            {
                "type": "Container",
                "style": "warning" if phi_warning else "attention",
                "items": [text_block(safe(warning), weight="Bolder")],
            }
        )
    body.append(
        {
            "type": "Input.Text",
            "id": "text",
            "label": "What happened, or what could go wrong?",
            "placeholder": "Describe it without patient names, record numbers or dates of birth.",
            "isMultiline": True,
            "isRequired": True,
            "errorMessage": "Please describe the concern.",
            "maxLength": 20000,
            "value": form.text,
        }
    )
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "unit",
            "label": "Unit",
            "style": "compact",
            "isRequired": True,
            "errorMessage": "Which unit is it about?",
            "choices": _choices([(u.id, u.name) for u in config.units]),
            "value": form.unit or "",
        }
    )
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "severity",
            "label": "How urgent is it?",
            "style": "compact",
            "choices": _choices(list(_SEVERITY_LABELS.items())),
            "value": form.severity,
        }
    )
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "concern_type",
            "label": "What is it about?",
            "style": "compact",
            # The organisation's own types and labels (the respect type among them); keys are stored.
            "choices": _choices(list(config.type_labels().items())),
            "value": form.concern_type,
        }
    )
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "category",
            "label": "Quality aim",
            "style": "compact",
            "choices": _choices([(a.value, a.value.capitalize()) for a in QualityAim]),
            "value": form.category,
        }
    )
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "anonymity",
            "label": "Who may know it was you?",
            "style": "expanded",
            "choices": _choices(list(_ANONYMITY_LABELS.items())),
            "value": form.anonymity,
        }
    )
    body.append(
        {
            "type": "Input.Toggle",
            "id": "involves_leader",
            "title": "This involves one of this unit's leaders. It then goes to the next tier's leaders "
            "and the patient-safety officers, never to this unit's own leaders.",
            "value": "true" if form.involves_leader else "false",
            "wrap": True,
        }
    )
    body.append(
        {
            "type": "Input.Toggle",
            "id": "share",
            "title": "You may show my own words on the unit's stoplight report. Named concerns only: an "
            "anonymous or confidential one shows only the leaders' short title.",
            "value": "true" if form.share else "false",
            "wrap": True,
        }
    )
    body.append(
        text_block(
            "Anonymous: huddlebot does not record who you are. You get a receipt code, shown once, to read "
            f"the leaders' replies and answer them (*{FOLLOW_UP_DIALOG}*). "
            "It reaches the leaders after a short random delay so its timing doesn't point to you; "
            "an immediate one goes at once, so its timing is not hidden.",
            isSubtle=True,
            size="Small",
        )
    )
    if notify_available:
        body.append(
            {
                "type": "Input.Toggle",
                "id": "notify_me",
                "title": "Anonymous only: tell me when there is news. huddlebot then sends you, in your "
                "chat with it, only \u201cThere is news on an anonymous concern you raised\u201d and how to "
                "read it with your receipt code. "
                "It names no concern, but an admin's export of chats could show that you raised an "
                "anonymous concern. Your chat address is kept encrypted, apart from the concern; leaders "
                "never see it, but an operator holding the key could.",
                "value": "true" if form.notify_me else "false",
                "wrap": True,
            }
        )
    if phi_warning:
        body.append(
            {
                "type": "Input.Toggle",
                "id": "post_anyway",
                "title": "I checked: it holds no patient identifier. Post it anyway.",
                "value": "true" if form.post_anyway else "false",
                "wrap": True,
            }
        )
    data: dict[str, Any] = {FORM_KEY: CONCERN_FORM}
    if form.run_id is not None:
        data["run"] = form.run_id
    return card(body, [{"type": "Action.Submit", "title": "Send", "data": data, "style": "positive"}])


@dataclass(frozen=True, slots=True)
class RoundForm:
    """What the round dialog holds, as typed (to fill it in again after a refusal)."""

    unit: str | None = None
    staff: str = ""
    patients: str = ""
    families: str = ""
    wins: str = ""
    raise_issues: str = ""
    track_issues: str = ""
    barriers: str = ""

    @classmethod
    def from_submit(cls, data: dict[str, Any]) -> RoundForm:
        """Read a submitted round; a count may come as text or as a number."""

        def text(key: str) -> str:
            value = data.get(key)
            if isinstance(value, bool):
                return "?"
            if isinstance(value, int | float):
                return str(value)
            return value.strip() if isinstance(value, str) else ""

        unit = text("unit")
        return cls(
            unit=unit or None,
            staff=text("staff"),
            patients=text("patients"),
            families=text("families"),
            wins=text("wins"),
            raise_issues=text("raise_issues"),
            track_issues=text("track_issues"),
            barriers=text("barriers"),
        )

    def counts(self) -> tuple[int, int, int] | str:
        """Staff, patients and families spoken with, or what to say about a count that isn't one.

        An empty count is 0. The range (0 to ``MAX_COUNT``) is the core's to check, so every
        platform says the same.
        """
        found: list[int] = []
        for value in (self.staff, self.patients, self.families):
            number = value.removesuffix(".0")
            if number and not _WHOLE.fullmatch(number):
                return f"Counts are whole numbers from 0 to {MAX_COUNT}. Nothing was logged."
            found.append(int(number) if number else 0)
        return found[0], found[1], found[2]

    def wins_list(self) -> list[tuple[str, str]] | str:
        """(``@colleague``, what they did) a line, or what to say about a line that isn't one."""
        wins: list[tuple[str, str]] = []
        for number, line in enumerate(_lines(self.wins), 1):
            who, colon, what = line.partition(":")
            if not who.startswith("@") or not colon or not who.strip("@ ") or not what.strip():
                return (
                    f"Write each win on its own line as @colleague: what they did (win {number} isn't). "
                    "Nothing was logged."
                )
            wins.append((who.strip(), what.strip()))
        return wins

    def items(self, key: str) -> tuple[str, ...]:
        """The non-empty lines of one of the one-a-line fields."""
        return tuple(_lines(getattr(self, key)))


_WHOLE = re.compile(r"[+-]?[0-9]{1,12}")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def round_form(units: list[tuple[str, str]], form: RoundForm, *, error: str | None = None) -> dict[str, Any]:
    """The "Log a round" card: the unit (of those the leader leads), whom they spoke with (counts
    only), and what they heard, one item a line."""
    body: list[dict[str, Any]] = []
    if error:
        body.append({"type": "Container", "style": "attention", "items": [text_block(safe(error))]})
    chosen = form.unit if form.unit in {value for value, _ in units} else units[0][0]
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": "unit",
            "label": "Unit",
            "style": "compact",
            "isRequired": True,
            "errorMessage": "Which unit did you round on?",
            "choices": _choices(units),
            "value": chosen,
        }
    )
    body.append(text_block("Whom you spoke with (numbers only, never a patient's name)", weight="Bolder"))
    columns = []
    for key, label in (("staff", "Staff"), ("patients", "Patients"), ("families", "Families")):
        number: dict[str, Any] = {
            "type": "Input.Number",
            "id": key,
            "label": label,
            "min": 0,
            "max": MAX_COUNT,
            "errorMessage": f"A whole number from 0 to {MAX_COUNT}.",
        }
        typed = getattr(form, key)
        if _WHOLE.fullmatch(typed):
            number["value"] = int(typed)
        columns.append({"type": "Column", "width": "stretch", "items": [number]})
    body.append({"type": "ColumnSet", "columns": columns})
    each = f"one a line, at most {MAX_ITEMS}"
    for key, label, placeholder in (
        (
            "wins",
            f"Wins: each becomes a good catch for the colleague ({each})",
            "@jo: caught a wrong label before the round",
        ),
        (
            "raise_issues",
            f"Issues to raise as concerns, with you as the source, \u201cheard on rounds\u201d ({each})",
            "Call bells in rooms 4 to 6 are slow to reach the desk",
        ),
        (
            "track_issues",
            f"Issues to track on the unit's stoplight, as in progress ({each})",
            "Second bladder scanner",
        ),
        ("barriers", f"Tools or barriers the unit needs ({each})", "More lift slings on nights"),
    ):
        body.append(
            {
                "type": "Input.Text",
                "id": key,
                "label": label,
                "placeholder": placeholder,
                "isMultiline": True,
                "maxLength": 4000,
                "value": getattr(form, key),
            }
        )
    body.append(
        text_block(
            "Don't name a staff member in an issue unless they agreed; never a patient.",
            isSubtle=True,
            size="Small",
        )
    )
    return card(body, [{"type": "Action.Submit", "title": "Log the round", "data": {FORM_KEY: ROUND_FORM}}])


def round_opener(unit_id: str, unit_name: str) -> dict[str, Any]:
    """What ``round`` answers in a personal chat: a button that opens the round dialog for the unit."""
    return card(
        [
            text_block(f"Log a round on {safe(unit_name)}", weight="Bolder"),
            text_block(
                "Whom you spoke with, wins to recognise, issues to raise or track, and what the unit needs. "
                "What you type in the form stays out of this chat.",
                size="Small",
            ),
        ],
        [
            {
                "type": "Action.Submit",
                "title": "Log a round…",
                "data": {"msteams": {"type": "task/fetch"}, FORM_KEY: ROUND_FORM, "unit": unit_id},
            }
        ],
        fallback=f"Log a round on {unit_name}",
    )


def follow_up_form(*, code: str = "", result: str | None = None, error: str | None = None) -> dict[str, Any]:
    """The anonymous reporter's dialog: type the receipt code, read the replies, answer them."""
    body: list[dict[str, Any]] = []
    if error:
        body.append({"type": "Container", "style": "attention", "items": [text_block(safe(error))]})
    if result:
        body.append({"type": "Container", "style": "emphasis", "items": [text_block(safe(result))]})
    body.append(
        {
            "type": "Input.Text",
            "id": "code",
            "label": "Your receipt code",
            "placeholder": "C-1042-ABCD-EFGH-JKMN-PQRS",
            "isRequired": True,
            "errorMessage": "The receipt code you were given.",
            "maxLength": 64,
            "value": code,
        }
    )
    body.append(
        {
            "type": "Input.Text",
            "id": "text",
            "label": "Your answer to the leaders (optional; they won't see who you are)",
            "isMultiline": True,
            "maxLength": 4000,
        }
    )
    return card(
        body,
        [
            {
                "type": "Action.Submit",
                "title": "Show replies / send answer",
                "data": {FORM_KEY: FOLLOW_UP_FORM},
            }
        ],
    )


def receipt_card(
    text: str, *, code: str | None = None, tone: str = "success", title: str = "Thank you for speaking up"
) -> dict[str, Any]:
    """What the reporter sees in the dialog after sending (the code is shown here, once)."""
    body = [text_block(title if tone == "success" else "Not sent", weight="Bolder")]
    body.append(text_block(safe(text)))
    if code:
        body.append(
            {
                "type": "Container",
                "style": "emphasis",
                "items": [
                    text_block("Your receipt code (copy it now: it is not shown again)", size="Small"),
                    text_block(code, fontType="Monospace", size="Large", weight="Bolder"),
                ],
            }
        )
    return card(body)


def task(content: dict[str, Any], *, title: str, height: str = "large") -> dict[str, Any]:
    """A task-module ("dialog") response that shows ``content``."""
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": title,
                "height": height,
                "width": "medium",
                "card": {"contentType": CARD_TYPE, "content": content},
            },
        }
    }


def task_message(text: str) -> dict[str, Any]:
    """A task-module response that closes the dialog with a short message."""
    return {"task": {"type": "message", "value": text[:500]}}
