"""How a concern looks to leaders: the card, re-built from the record every time it changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import actions
from bot.model import CLOSED_STATUSES, Anonymity, Concern, ConcernStatus
from bot.policy import local_day_label, local_label
from bot.views import Action, ConcernCard

if TYPE_CHECKING:
    from bot.core import Core

STATUS_LABELS = {
    ConcernStatus.OPEN: "Open: not yet acknowledged",
    ConcernStatus.ACKNOWLEDGED: "Acknowledged",
    ConcernStatus.IN_PROGRESS: "In progress",
    ConcernStatus.RESOLVED: "Resolved",
    ConcernStatus.NOT_POSSIBLE: "Not possible now",
}


def reporter_label(concern: Concern, *, for_safety_officer: bool = False) -> str:
    """Who raised it, as far as the reader may know."""
    if concern.anonymity == Anonymity.ANONYMOUS:
        return "Anonymous"
    if concern.anonymity == Anonymity.CONFIDENTIAL:
        if for_safety_officer:
            return f"{concern.reporter_name} (confidential: do not share)"
        return "Confidential (known to the patient-safety officer)"
    return concern.reporter_name or "A member of staff"


def concern_card(
    core: Core, concern: Concern, *, for_safety_officer: bool = False, headline: str | None = None
) -> ConcernCard:
    """The card for ``concern`` with the buttons that make sense in its state."""
    assert concern.id is not None
    unit = core.config.unit(concern.unit_id)
    buttons: list[Action] = []
    if concern.status not in CLOSED_STATUSES:
        if concern.acknowledged_at is None:
            buttons.append(
                Action(
                    id="acknowledge",
                    label="Acknowledge",
                    style="primary",
                    value=actions.concern_action("acknowledge", concern.id),
                )
            )
        buttons.append(Action(id="reply", label="Reply", value=actions.concern_action("reply", concern.id)))
        if concern.status != ConcernStatus.IN_PROGRESS:
            buttons.append(
                Action(
                    id="in_progress",
                    label="In progress",
                    value=actions.concern_action("in_progress", concern.id),
                )
            )
        buttons.append(
            Action(id="resolve", label="Resolve", value=actions.concern_action("resolve", concern.id))
        )
        buttons.append(
            Action(
                id="not_possible",
                label="Not possible now",
                value=actions.concern_action("not_possible", concern.id),
            )
        )
    acknowledged = None
    if concern.acknowledged_at is not None:
        acknowledged = (
            f"{concern.acknowledged_by}, {local_label(core, concern.unit_id, concern.acknowledged_at)}"
        )
    resolved = None
    if concern.resolved_at is not None:
        resolved = f"{concern.resolved_by}, {local_label(core, concern.unit_id, concern.resolved_at)}"
    return ConcernCard(
        concern_id=concern.id,
        ref=concern.ref,
        unit_name=unit.name if unit else concern.unit_id,
        severity=concern.severity,
        category=concern.category,
        concern_type=concern.concern_type,
        anonymity=concern.anonymity,
        reporter_label=reporter_label(concern, for_safety_officer=for_safety_officer),
        text=concern.text,
        status=STATUS_LABELS.get(ConcernStatus(concern.status), concern.status),
        # The minute an anonymous concern was raised would point at whoever was on the unit then.
        raised_label=(local_day_label if concern.is_anonymous else local_label)(
            core, concern.unit_id, concern.created_at
        ),
        headline=headline,
        acknowledged_label=acknowledged,
        resolution=concern.resolution,
        resolved_label=resolved,
        phi_flagged=concern.phi_flagged,
        title=concern.title,
        not_possible=(
            f"{concern.not_possible_by}, {local_label(core, concern.unit_id, concern.not_possible_at)}. "
            f"Why: {concern.not_possible_reason}"
            if concern.not_possible_at is not None
            else None
        ),
        actions=buttons,
    )
