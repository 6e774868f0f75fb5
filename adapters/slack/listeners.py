"""What each Slack request does: translate it, run the core command, answer inside Slack's 3 seconds.

The app runs with ``process_before_response=True``: a listener's work before ``ack()`` is one
database transaction (or one ``views.open``, done first, while the trigger id is fresh), and its
reply has to be in the response anyway (an ephemeral answer, a modal's field errors, the receipt).
Bolt's default mode would add its 10 ms ack-polling to every request for nothing. Whatever is not
needed for the answer (an ephemeral note via ``chat.postEphemeral``, publishing the Home tab) runs
in a background task after the response. Everything else reaches Slack through the outbox.

Nothing here logs a payload, and nothing here decides policy.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import modals
from adapters.slack.blocks import escape, home_view, reply_blocks, reply_text
from adapters.slack.payloads import BUTTONS
from adapters.slack.translate import (
    SLACK,
    USAGE,
    FormContext,
    FormErrors,
    OpenConcernForm,
    OpenForm,
    OpenGoodCatchForm,
    ShowDashboard,
    ShowHelp,
    Usage,
    address,
    button_command,
    concern_command,
    concern_from_form,
    form_values,
    goodcatch_command,
    huddle_command,
    message_command,
    person,
    round_command,
    round_from_form,
)
from bot import commands as c
from bot.core import Core
from bot.errors import Refusal
from bot.model import Anonymity, Person, concern_reference
from bot.policy import units_led
from bot.reply import Reply
from bot.sign_in import SignIn
from bot.text import looks_like_phi
from bot.views import ConcernCard, HomeTab

log = logging.getLogger("huddlebot.slack")

SORRY = "Sorry, something went wrong on our side and nothing was changed. Please try again in a minute."
DM_HELP = (
    "I don't read messages here, so nothing you write here reaches anybody (workspace admins can export "
    "direct messages, so this is no place for a concern).\n"
    "• */concern* opens a form to raise a safety concern: named, confidential or anonymous.\n"
    "• Answer a leader by replying in the thread of the message about your concern.\n"
    "• Your concerns are listed in my *Home* tab."
)
_FIELD_OF = {
    "unknown_unit": "unit",
    "unit_needed": "unit",
    "unit_gone": "unit",
    "unknown_severity": "severity",
    "unknown_category": "category",
    "unknown_type": "type",
    "unknown_anonymity_level": "anonymity",
    "notify_unavailable": "anonymity",
    "no_one_above": "involves_leader",
}
# A refusal of a round, by the core's code: the field it is about (the rest are about the unit).
_ROUND_FIELD_OF = {
    "self_recognition": "wins",
    "no_recipient": "wins",
    "bad_count": "staff",
    "unknown_person": "concerns",
}
NOT_ROUNDING = (
    "Rounds are logged by a unit's leaders, and I don't have you down as leading a unit, so there is "
    "nothing to log here. If you do lead one, ask whoever looks after huddlebot to add you to it."
)


class SlackListeners:
    """The Bolt listeners of one workspace, wired to the core."""

    def __init__(
        self, *, core: Core, client: AsyncWebClient, tenant: str, sign_in: SignIn | None = None
    ) -> None:
        self.core, self.client, self.tenant = core, client, tenant
        self.sign_in = sign_in  # the dashboard's sign-in links (``/huddle dashboard``)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- plumbing ---------------------------------------------------------------------------------

    def register(self, bolt: AsyncApp) -> None:
        """Attach every listener to ``bolt``."""
        # Bolt tries listeners in this order, and each try costs (it builds the listener's arguments):
        # the speaking-up path goes first.
        bolt.view(modals.CONCERN_FORM)(self.concern_submitted)
        bolt.command("/concern")(self.concern)
        bolt.command("/huddle")(self.huddle)
        bolt.command("/goodcatch")(self.goodcatch)
        bolt.command("/round")(self.rounding)
        bolt.action(BUTTONS)(self.button)
        bolt.view(modals.REPLY_FORM)(self.reply_submitted)
        bolt.view(modals.RESOLVE_FORM)(self.resolve_submitted)
        bolt.view(modals.NOT_POSSIBLE_FORM)(self.not_possible_submitted)
        bolt.view(modals.IN_PROGRESS_FORM)(self.in_progress_submitted)
        bolt.view(modals.ROUND_FORM)(self.round_submitted)
        bolt.view(modals.FOLLOW_UP_FORM)(self.follow_up_submitted)
        bolt.view(modals.GOOD_CATCH_FORM)(self.good_catch_submitted)
        bolt.event("message")(self.message)
        bolt.event("app_mention")(self.mention)
        bolt.event("app_home_opened")(self.home_opened)
        bolt.view_closed(re.compile(".*"))(self.view_closed)

    def spawn(self, work: Awaitable[None], what: str) -> None:
        """Run ``work`` after the response has gone; a failure is logged by its type only."""

        async def run() -> None:
            try:
                await work
            except Exception as error:
                log.warning("slack: %s failed (%s)", what, _describe(error))

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float = 5.0) -> None:
        """Wait (a little) for background work, e.g. before shutting down or in tests."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)

    async def _run(self, command: c.Command, *, event_key: str | None = None) -> Reply:
        """``core.handle``, but a crash becomes a polite reply (and a log line without personal data)."""
        try:
            return await self.core.handle(command, event_key=event_key)
        except Exception as error:
            log.error("slack: %s failed (%s)", type(command).__name__, _describe(error))
            return Reply(text=SORRY, tone="error", code="internal_error")

    def _person(self, user: dict[str, Any] | str, name: str = "") -> Any:
        if isinstance(user, dict):
            return person(self.tenant, user.get("id", ""), user.get("name") or user.get("username") or "")
        return person(self.tenant, user, name)

    async def _ephemeral(
        self, channel: str | None, user: str, reply: Reply, thread: str | None = None
    ) -> None:
        if not channel or reply.silent:
            return
        arguments: dict[str, Any] = {
            "channel": channel,
            "user": user,
            "text": reply_text(reply),
            "blocks": reply_blocks(reply),
        }
        if thread:
            arguments["thread_ts"] = thread
        await self.client.chat_postEphemeral(**arguments)

    async def _open(self, trigger_id: str | None, view: dict[str, Any]) -> str | None:
        """Open a modal; None if it opened, else what to tell the person."""
        if not trigger_id:
            return "Slack did not say where to open the form. Please try again."
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except Exception as error:
            log.warning("slack: views.open failed (%s)", _describe(error))
            return "The form could not be opened (Slack may have been slow). Please try again."
        return None

    def _default_unit(self, channel: str | None) -> str | None:
        owner = self.core.config.unit_for_channel(SLACK, channel) if channel else None
        return owner[0].id if owner else None

    def _concern_form(self, meta: FormContext, prefill: str = "") -> dict[str, Any]:
        return modals.concern_form(
            self.core.config,
            meta,
            prefill=prefill,
            default_unit=self._default_unit(meta.channel),
            offer_notify=self.core.sealer is not None,
        )

    # --- slash commands ---------------------------------------------------------------------------

    async def concern(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """``/concern [text]`` opens the form; and ``follow-up``, ``show``, ``help``.

        ``show`` and ``follow-up`` read the database before ``views.open``: one indexed read, well
        inside the trigger id's 3 seconds (the form to raise a concern opens before anything)."""
        who = self._person(body.get("user_id", ""), body.get("user_name", ""))
        channel = body.get("channel_id")
        try:
            request = concern_command(body.get("text") or "", who, self.core.config)
        except Usage as usage:
            await ack(**_usage(usage))
            return
        if isinstance(request, OpenConcernForm):
            problem = await self._open(
                body.get("trigger_id"), self._concern_form(FormContext(channel=channel), request.prefill)
            )
            await ack(**(_say(problem, "error") if problem else {}))
            return
        if isinstance(request, ShowHelp):
            await ack(**_help(request.command))
            return
        reply = await self._run(request)
        form: dict[str, Any] | None = None
        if isinstance(request, c.ShowConcern) and isinstance(reply.detail, ConcernCard):
            # A modal holds the whole of a long concern; a message holds about 12,000 characters.
            form = modals.concern_view(reply.detail)
        elif isinstance(request, c.FollowUp) and request.text is None and reply.ok:
            form = modals.follow_up_form(FormContext(code=request.code), reply.text)
        if form is not None and await self._open(body.get("trigger_id"), form) is None:
            await ack()
            return
        await ack(**_ephemeral_reply(reply))

    async def huddle(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """``/huddle now|status|help [unit]``."""
        who = self._person(body.get("user_id", ""), body.get("user_name", ""))
        where = address(self.tenant, body.get("channel_id"))
        try:
            command = huddle_command(body.get("text") or "", who, where, self.core.config)
        except Usage as usage:
            await ack(**_usage(usage))
            return
        if isinstance(command, ShowHelp):
            await ack(**_help(command.command))
            return
        if isinstance(command, ShowDashboard):  # a private link: in the ephemeral answer only
            reply = (
                await self.sign_in.request_link(who)
                if self.sign_in is not None
                else Reply(text="The dashboard isn't available on this server.", tone="error")
            )
            await ack(**_ephemeral_reply(reply))
            return
        await ack(**_ephemeral_reply(await self._run(command)))

    async def goodcatch(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """``/goodcatch @someone what they caught`` (or the form, with nothing after it)."""
        who = self._person(body.get("user_id", ""), body.get("user_name", ""))
        channel = body.get("channel_id")
        try:
            command = goodcatch_command(
                body.get("text") or "", who, address(self.tenant, channel), self.core.config
            )
        except Usage as usage:
            await ack(**_usage(usage))
            return
        if isinstance(command, OpenGoodCatchForm):
            problem = await self._open(
                body.get("trigger_id"), modals.good_catch_form(FormContext(channel=channel))
            )
            await ack(**(_say(problem, "error") if problem else {}))
            return
        if isinstance(command, ShowHelp):
            await ack(**_help(command.command))
            return
        await ack(**_ephemeral_reply(await self._run(command)))

    async def rounding(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """``/round [unit]`` opens the form to log a round on one of the units the person leads."""
        who = self._person(body.get("user_id", ""), body.get("user_name", ""))
        channel = body.get("channel_id")
        try:
            request = round_command(body.get("text") or "", self.core.config)
        except Usage as usage:
            await ack(**_usage(usage))
            return
        if isinstance(request, ShowHelp):
            await ack(**_help(request.command))
            return
        led = units_led(self.core, who)
        if not led:
            await ack(**_say(NOT_ROUNDING, "error"))
            return
        named = self.core.config.unit(request.unit) if request.unit else None
        if named is not None and named not in led:
            await ack(
                **_say(
                    f"You don't lead {named.name}, so you can't log a round there. You lead: "
                    + ", ".join(u.name for u in led[:20])
                    + ".",
                    "error",
                )
            )
            return
        chosen = request.unit or self._default_unit(channel)
        form = modals.round_form(
            FormContext(channel=channel),
            [(u.id, u.name) for u in led],
            unit=chosen if any(u.id == chosen for u in led) else None,
        )
        problem = await self._open(body.get("trigger_id"), form)
        await ack(**(_say(problem, "error") if problem else {}))

    # --- buttons ----------------------------------------------------------------------------------

    async def button(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader's button on a concern card, or an answer on a huddle prompt."""
        actions = body.get("actions") or [{}]
        user = body.get("user") or {}
        who = self._person(user)
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread = container.get("thread_ts")
        try:
            request = button_command(actions[0].get("value") or "", who, address(self.tenant, channel))
        except Refusal as refusal:
            await ack()
            self.spawn(
                self._ephemeral(channel, who.user_id, Reply(text=refusal.message, tone="error"), thread),
                "an ephemeral note",
            )
            return
        if isinstance(request, OpenForm):
            refusal = None
            if request.form == "not_possible":
                refusal = await self._may_not_close(who, request.concern_id)
            elif request.form == "in_progress":
                refusal = await self._may_not_set_status(who, request.concern_id)
            if refusal is not None:
                await ack()
                self.spawn(self._ephemeral(channel, who.user_id, refusal, thread), "an ephemeral note")
                return
            meta = FormContext(channel=channel, run_id=request.run_id, concern_id=request.concern_id)
            if request.form == "concern":
                view = self._concern_form(meta)
            elif request.form == "goodcatch":
                view = modals.good_catch_form(meta)
            else:
                ref = concern_reference(request.concern_id or 0)
                make = {
                    "reply": modals.reply_form,
                    "not_possible": modals.not_possible_form,
                    "in_progress": modals.in_progress_form,
                }
                view = make.get(request.form, modals.resolve_form)(meta, ref)
            problem = await self._open(body.get("trigger_id"), view)
            await ack()
            if problem:
                self.spawn(
                    self._ephemeral(channel, who.user_id, Reply(text=problem, tone="error"), thread),
                    "an ephemeral note",
                )
            return
        reply = await self._run(request)
        await ack()
        self.spawn(self._ephemeral(channel, who.user_id, reply, thread), "an ephemeral note")

    async def _may_not_close(self, who: Person, concern_id: int | None) -> Reply | None:
        """The core's refusal when ``who`` may not close the concern as not possible now, else None.

        Asked before the form opens, so a non-leader is told at once, as with the other leader buttons,
        instead of after typing a reason. It is the core's own command without a reason: every check
        before the reason's (who leads it, is it still open) runs, and a refusal changes nothing.
        """
        ref = concern_reference(concern_id or 0)
        reply = await self._run(c.MarkNotPossible(person=who, ref=ref, reason=""))
        return None if reply.code == "reason_needed" else reply

    async def _may_not_set_status(self, who: Person, concern_id: int | None) -> Reply | None:
        """The core's refusal when ``who`` may not mark the concern in progress, else None.

        As for "Not possible now": the core's own command, asked only to check (who leads it, is it
        still open), so the refusal is the core's wording and nothing changes either way.
        """
        ref = concern_reference(concern_id or 0)
        reply = await self._run(
            c.SetConcernStatus(person=who, ref=ref, status="in_progress", check_only=True)
        )
        return None if reply.code == "status_allowed" else reply

    # --- modals -----------------------------------------------------------------------------------

    async def concern_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """The concern form: raise it, and show the receipt in place of the form (only its author sees it)."""
        view = body.get("view") or {}
        meta = FormContext.load(view.get("private_metadata"))
        values = form_values(view)
        who = self._person(body.get("user") or {})
        command = concern_from_form(values, meta, who, self.tenant, view.get("id") or "")
        reply = await self._run(command)
        if reply.ok:
            await ack(response_action="update", view=modals.receipt(reply))
            if meta.run_id is not None and command.anonymity == Anonymity.NAMED:
                # Counted in the huddle as "a concern" only when named: for the others, who answered
                # when would point at who raised it.
                await self._run(
                    c.AnswerHuddle(person=who, where=command.where, answer="concern", run_id=meta.run_id)
                )
            return
        if reply.code == "phi_warning" and not meta.phi_warned:
            form = modals.concern_form(
                self.core.config,
                FormContext(channel=meta.channel, run_id=meta.run_id, phi_warned=True),
                default_unit=self._default_unit(meta.channel),
                offer_notify=self.core.sealer is not None,
                values=values,
                phi_warning=reply.text,
            )
            await ack(response_action="update", view=form)
            return
        if reply.code == "internal_error":
            await ack(response_action="update", view=modals.message("Not sent", reply.text, tone="error"))
            return
        field = _FIELD_OF.get(reply.code or "", "description")
        if field == "anonymity" and reply.code == "notify_unavailable" and "notify" in values:
            field = "notify"
        text = reply.text
        if reply.code == "phi_warning":
            text = "This looks like it contains a patient identifier. Take it out, or tick 'Post anyway'."
        await ack(response_action="errors", errors={field: _short(text)})

    async def _leader_form(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict[str, Any],
        make: Callable[[str, dict[str, Any]], c.Command],
        title: str,
        *,
        field: str = "text",
    ) -> None:
        """A leader's form about one concern: ``make`` builds the command from its values; a refusal
        lands under ``field`` (the text they wrote), a stoplight title too long under the title."""
        view = body.get("view") or {}
        meta = FormContext.load(view.get("private_metadata"))
        values = form_values(view)
        if meta.concern_id is None:
            await ack(
                response_action="update",
                view=modals.message(title, "This form is out of date.", tone="error"),
            )
            return
        short_title = values.get("title")
        if isinstance(short_title, str) and len(" ".join(short_title.split())) > modals.TITLE_CHARS:
            error = f"A short title: at most {modals.TITLE_CHARS} characters."
            await ack(response_action="errors", errors={"title": error})
            return
        reply = await self._run(make(concern_reference(meta.concern_id), values))
        if reply.ok:
            await ack(response_action="update", view=modals.message(title, reply.text, tone=reply.tone))
        else:
            await ack(response_action="errors", errors={field: _short(reply.text)})

    async def reply_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader's reply to the reporter."""
        who = self._person(body.get("user") or {})
        await self._leader_form(
            ack,
            body,
            lambda ref, values: c.ReplyToConcern(person=who, ref=ref, text=values.get("text") or ""),
            "Reply sent",
        )

    async def resolve_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader resolves with what was done, and the stoplight's short title if they gave one."""
        who = self._person(body.get("user") or {})
        await self._leader_form(
            ack,
            body,
            lambda ref, values: c.ResolveConcern(
                person=who, ref=ref, text=values.get("text") or "", title=values.get("title") or None
            ),
            "Resolved",
        )

    async def not_possible_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader closes a concern as not possible now: the reason (the reporter is told) and a title."""
        who = self._person(body.get("user") or {})
        await self._leader_form(
            ack,
            body,
            lambda ref, values: c.MarkNotPossible(
                person=who, ref=ref, reason=values.get("reason") or "", title=values.get("title") or None
            ),
            "Not possible now",
            field="reason",
        )

    async def in_progress_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader marks a concern in progress: the latest update (the reporter is told) and a title."""
        who = self._person(body.get("user") or {})
        await self._leader_form(
            ack,
            body,
            lambda ref, values: c.SetConcernStatus(
                person=who,
                ref=ref,
                status="in_progress",
                note=values.get("note") or None,
                title=values.get("title") or None,
            ),
            "In progress",
            field="note",
        )

    async def round_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A leader's round: logged, and what they heard turned into good catches, concerns, items."""
        view = body.get("view") or {}
        meta = FormContext.load(view.get("private_metadata"))
        values = form_values(view)
        who = self._person(body.get("user") or {})
        try:
            command = round_from_form(values, meta, who, self.tenant, self.core.config)
        except FormErrors as problems:
            await ack(response_action="errors", errors={k: _short(v) for k, v in problems.errors.items()})
            return
        reply = await self._run(command)
        if reply.ok:
            await ack(
                response_action="update", view=modals.message("Round logged", reply.text, tone="success")
            )
        elif reply.code == "internal_error":
            await ack(response_action="update", view=modals.message("Not logged", reply.text, tone="error"))
        else:
            await ack(response_action="errors", errors={_round_field(reply, values): _short(reply.text)})

    async def follow_up_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """An anonymous reporter answers the leaders from the follow-up form."""
        view = body.get("view") or {}
        meta = FormContext.load(view.get("private_metadata"))
        text = (form_values(view).get("text") or "").strip()
        if not text or not meta.code:
            await ack(response_action="clear")
            return
        reply = await self._run(
            c.FollowUp(person=self._person(body.get("user") or {}), code=meta.code, text=text)
        )
        if reply.ok:
            await ack(response_action="update", view=modals.follow_up_form(meta, reply.text))
        else:
            await ack(response_action="errors", errors={"text": _short(reply.text)})

    async def good_catch_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """Recognition from the form (a /goodcatch without text, or the huddle prompt's button)."""
        view = body.get("view") or {}
        meta = FormContext.load(view.get("private_metadata"))
        values = form_values(view)
        who = self._person(body.get("user") or {})
        recipient = values.get("recipient") or ""
        recipient = self.core.config.handle_for(SLACK, recipient) or recipient
        where = address(self.tenant, meta.channel)
        reply = await self._run(
            c.GiveGoodCatch(person=who, where=where, recipient=recipient, text=values.get("text") or "")
        )
        if not reply.ok:
            field = "recipient" if reply.code == "no_recipient" else "text"
            await ack(response_action="errors", errors={field: _short(reply.text)})
            return
        await ack(
            response_action="update", view=modals.message("Good catch shared", reply.text, tone="success")
        )
        if meta.run_id is not None:
            await self._run(c.AnswerHuddle(person=who, where=where, answer="goodcatch", run_id=meta.run_id))

    async def view_closed(self, ack: Callable[..., Awaitable[Any]]) -> None:
        """A form closed without sending it: nothing to do (Slack says so only if asked to)."""
        await ack()

    # --- events -----------------------------------------------------------------------------------

    async def message(self, body: dict[str, Any], event: dict[str, Any]) -> BoltResponse | None:
        """A reply in a thread the bot started (a card, a DM, a prompt); the core knows whose it is."""
        command = message_command(event, self.tenant, self.core.config)
        if command is None:
            if (
                event.get("channel_type") == "im"
                and event.get("user")
                and not event.get("subtype")
                and not event.get("bot_id")
                and not event.get("thread_ts")
            ):
                self.spawn(
                    self._ephemeral(event.get("channel"), event["user"], Reply(text=DM_HELP)), "the DM help"
                )
            return None
        event_id = body.get("event_id")
        try:
            reply = await self.core.handle(command, event_key=f"slack:{event_id}" if event_id else None)
        except Exception as error:
            # Not handled, so not remembered: Slack's retry of this event is handled.
            log.error("slack: a thread message could not be handled (%s); Slack will retry", _describe(error))
            return BoltResponse(status=500, body="")
        if not reply.silent:
            self.spawn(
                self._ephemeral(command.where.channel, command.person.user_id, reply, command.where.thread),
                "an ephemeral note",
            )
        return None

    async def mention(self, event: dict[str, Any]) -> None:
        """An @mention outside a thread: say what the bot can do (threads are handled as messages)."""
        if event.get("thread_ts") or not event.get("user"):
            return
        help_text = "\n".join(USAGE.values())
        self.spawn(
            self._ephemeral(event.get("channel"), event["user"], Reply(text=help_text)), "the mention help"
        )

    async def home_opened(self, event: dict[str, Any]) -> None:
        """Publish the person's Home tab (after the response: it is a read and a Web API call)."""
        if event.get("tab") != "home" or not event.get("user"):
            return
        self.spawn(self._publish_home(event["user"]), "publishing the Home tab")

    async def _publish_home(self, user_id: str) -> None:
        reply = await self.core.handle(c.ShowHome(person=self._person(user_id)))
        if isinstance(reply.detail, HomeTab):
            await self.client.views_publish(user_id=user_id, view=home_view(reply.detail))


# --- answers --------------------------------------------------------------------------------------


def _ephemeral_reply(reply: Reply) -> dict[str, Any]:
    if reply.silent:
        return {}
    return {"response_type": "ephemeral", "text": reply_text(reply), "blocks": reply_blocks(reply)}


def _say(text: str, tone: str = "info") -> dict[str, Any]:
    return _ephemeral_reply(Reply(text=text, tone=tone))


def _help(command: str) -> dict[str, Any]:
    # Usage text is ours (Slack markup on purpose), not people's: it is not escaped.
    return {"response_type": "ephemeral", "text": USAGE[command]}


def _usage(usage: Usage) -> dict[str, Any]:
    problem = escape(usage.problem) + "\n" if usage.problem else ""  # it may quote what was typed
    return {"response_type": "ephemeral", "text": problem + USAGE.get(usage.command, "")}


def _round_field(reply: Reply, values: dict[str, Any]) -> str:
    """The field of the round form a refusal is about."""
    if reply.code == "phi_warning":  # one of the issues raised or tracked: the one that looks like it
        return next(
            (f for f in ("concerns", "tracked") if looks_like_phi(str(values.get(f) or ""))), "concerns"
        )
    return _ROUND_FIELD_OF.get(reply.code or "", "unit")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: Exception) -> str:
    """An exception as a log may show it: its type, and Slack's error code; never a message body."""
    if isinstance(error, SlackApiError) and error.response is not None:
        return f"SlackApiError {error.response.get('error')}"
    return type(error).__name__
