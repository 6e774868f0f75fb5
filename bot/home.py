"""A person's own page (Slack's App Home tab): their concerns, and for leaders the open ones in their units.

Pure reading: nothing here changes state or queues a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import ShowHome
from bot.huddles import OPEN_STATUSES
from bot.model import Concern, ConcernStatus, Person
from bot.policy import is_leader, local_day_label, local_label, name_of
from bot.present import STATUS_LABELS, reporter_label
from bot.reply import Reply
from bot.text import excerpt
from bot.views import ConcernLine, HomeTab
from bot.visibility import may_lead

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ports import Tx

MINE_LIMIT = 20
OPEN_LIMIT = 40


def _line(core: Core, concern: Concern, *, with_reporter: bool) -> ConcernLine:
    unit = core.config.unit(concern.unit_id)
    # As on the card: an anonymous concern shows its day only, never the minute it was raised.
    when = (local_day_label if concern.is_anonymous else local_label)(
        core, concern.unit_id, concern.created_at
    )
    return ConcernLine(
        ref=concern.ref,
        unit_name=unit.name if unit else concern.unit_id,
        severity=concern.severity,
        status=STATUS_LABELS.get(ConcernStatus(concern.status), concern.status),
        concern_type=concern.concern_type,
        summary=excerpt(concern.text, 140),
        raised_label=when,
        reporter_label=reporter_label(concern) if with_reporter else None,
    )


async def my_concerns(*, core: Core, tx: Tx, person: Person) -> list[ConcernLine]:
    """The concerns ``person`` raised with their name (named or confidential), newest first.

    Anonymous ones cannot be listed: nothing links them to anybody.
    """
    found = await tx.find_concerns(
        reporter=(person.platform, person.tenant, person.user_id), limit=MINE_LIMIT
    )
    return [_line(core, c, with_reporter=False) for c in found]


def led_units(*, core: Core, person: Person) -> list[str]:
    """Ids of the units whose concerns ``person`` may act on (as a leader, a higher tier or an officer)."""
    return [unit.id for unit in core.config.units if is_leader(core, person, unit)]


async def open_in_my_units(*, core: Core, tx: Tx, person: Person) -> list[ConcernLine]:
    """Open concerns in the units ``person`` leads, newest first; empty for everyone else."""
    units = led_units(core=core, person=person)
    if not units:
        return []
    found = await tx.find_concerns(unit_ids=units, statuses=OPEN_STATUSES, limit=OPEN_LIMIT)
    return [_line(core, c, with_reporter=True) for c in found if may_lead(core, person, c)]


async def home_tab(*, core: Core, tx: Tx, person: Person) -> HomeTab:
    """Everything on ``person``'s page."""
    units = led_units(core=core, person=person)
    mine = await my_concerns(core=core, tx=tx, person=person)
    return HomeTab(
        title=f"huddlebot · {name_of(core, person)}",
        mine=mine,
        mine_note="" if mine else "You have not raised a concern with your name yet.",
        leader_units=[u.name for u in core.config.units if u.id in units],
        open_in_units=await open_in_my_units(core=core, tx=tx, person=person),
    )


async def show_home(core: Core, tx: Tx, cmd: ShowHome) -> Reply:
    """The ``ShowHome`` command: the page comes back as the reply's detail."""
    tab = await home_tab(core=core, tx=tx, person=cmd.person)
    return Reply(
        text=f"{len(tab.mine)} concern(s) of yours, {len(tab.open_in_units)} open in your units.",
        detail=tab,  # type: ignore[arg-type]  # shown on request, never queued: not an outbox View
    )
