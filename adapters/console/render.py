"""Core views as plain terminal text."""

from __future__ import annotations

import textwrap

from bot.views import (
    ConcernCard,
    Counts,
    GoodCatchPost,
    HuddlePrompt,
    HuddleSummary,
    Notice,
    ReporterUpdate,
    Stoplight,
    ThreadMessage,
    View,
)


def _counts(counts: Counts) -> str:
    return (
        f"{counts.responders} answered: {counts.clear} all clear, {counts.concern} concern, "
        f"{counts.goodcatch} good catch, {counts.comments} comment(s)"
    )


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text, prefix)


def render(view: View) -> str:
    """The whole view, several lines."""
    match view:
        case ConcernCard():
            tags = f"{view.severity.upper()} · {view.concern_type} · {view.category}"
            lines = [f"[{view.ref}] {tags} · {view.unit_name}"]
            if view.headline:
                lines.insert(0, f"!! {view.headline}")
            lines.append(f"Reporter: {view.reporter_label} · raised {view.raised_label}")
            lines.append(
                f"Status: {view.status}"
                + (
                    f" (by {view.acknowledged_label})"
                    if view.acknowledged_label and not view.resolved_label
                    else ""
                )
            )
            if view.phi_flagged:
                lines.append(
                    "Note: the reporter confirmed this is safe to post (it looked like it had a patient id)."
                )
            lines.append(_indent(view.text, "  > "))
            if view.resolution:
                lines.append(f"Resolved by {view.resolved_label}. What we did: {view.resolution}")
            if view.not_possible:
                lines.append(f"Not possible now: {view.not_possible}")
            if view.title:
                lines.append(f"Stoplight title: {view.title}")
            if view.actions:
                lines.append(" ".join(f"[{a.label}]" for a in view.actions))
            return "\n".join(lines)
        case HuddlePrompt():
            state = "closed" if view.closed else f"open until {view.closes_label}"
            lines = [f"Safety huddle · {view.unit_name} · {view.when_label} ({state})"]
            lines += [f"  {n}. {q}" for n, q in enumerate(view.questions, 1)]
            if view.open_items:
                lines.append("  Open items:")
                lines += [f"    - {i.ref} ({i.severity}, {i.status}): {i.summary}" for i in view.open_items]
            if view.rollup:
                lines.append("  Units:")
                lines += [f"    - {line}" for line in view.rollup]
            lines.append(f"  {_counts(view.counts)}")
            if view.actions:
                lines.append("  " + " ".join(f"[{a.label}]" for a in view.actions))
            return "\n".join(lines)
        case HuddleSummary():
            lines = [f"Huddle summary · {view.unit_name} · {view.when_label}", f"  {_counts(view.counts)}"]
            lines += [f"  - {c}" for c in view.comments]
            if view.concerns_raised:
                lines.append(f"  Concerns raised: {', '.join(view.concerns_raised)}")
            lines += [f"  Good catch: {g}" for g in view.good_catches]
            if view.open_items:
                lines.append(f"  Still open: {', '.join(i.ref for i in view.open_items)}")
            if view.missed_runs:
                lines.append(f"  Missed huddles: {', '.join(view.missed_runs)}")
            lines += [f"  Unit: {line}" for line in view.rollup]
            return "\n".join(lines)
        case ThreadMessage():
            return f"{view.author_label}: {view.text}"
        case ReporterUpdate():
            return view.text
        case GoodCatchPost():
            return f"Good catch! {view.giver_label} recognised {view.recipient_label}: {view.text}"
        case Stoplight():
            return render_stoplight(view)
        case Notice():
            return (f"{view.title}: " if view.title else "") + view.text
    return str(view)


_MARKS = {"green": "GREEN (done)", "yellow": "YELLOW (in progress)", "red": "RED (not possible now)"}


def render_stoplight(view: Stoplight) -> str:
    """The stoplight report, a section a unit."""
    lines = [view.title]
    for unit in view.units:
        if len(view.units) > 1:
            lines.append(f"  {unit.unit_name}")
        if unit.nothing:
            lines.append(f"    {unit.nothing}")
        for colour in ("green", "yellow", "red"):
            for item in getattr(unit, colour):
                lines.append(f"    {_MARKS[colour]} {item.ref}: {item.title}")
                if item.detail:
                    lines.append(f"        {item.detail}")
        if unit.more:
            lines.append(f"    … and {unit.more} more")
    if view.legend:
        lines.append(f"  {view.legend}")
    return "\n".join(lines)


def headline(view: View, limit: int = 110) -> str:
    """One line saying what the view is."""
    first = render(view).splitlines()[0] if render(view) else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
