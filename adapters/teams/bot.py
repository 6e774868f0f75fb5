"""One Teams activity in, core commands run, the answer out: messages, installs, card actions, dialogs.

What is said to the bot in a channel is public; what is typed in a dialog is not. So:
* typed commands answer in the thread they were typed in (everyone there saw the question);
* a leader's plain reply under a concern card, or a comment under a huddle prompt, is not answered in
  the channel (the card and the thread show what happened); a refusal goes to the person's own chat;
* anonymous concerns and follow-ups come only through dialogs, and their answers stay in the dialog.
Nothing here logs message text or who sent it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from adapters.teams import cards, dialogs, payloads
from adapters.teams.activity import Inbound, mentions_bot, plain_text, quoted_message, read
from adapters.teams.connector import BotConnector, ConnectorError
from adapters.teams.messenger import TeamsMessenger
from adapters.teams.references import References
from adapters.teams.translate import Local, is_command, translate
from adapters.teams.words import FOLLOW_UP_DIALOG, RAISE_DIALOG, ROUND_DIALOG, teams_words
from bot import actions
from bot import commands as c
from bot.core import Core
from bot.errors import Refusal
from bot.model import Address, Anonymity, Answer, Person, concern_reference
from bot.policy import is_leader
from bot.sign_in import SignIn
from bot.views import ConcernCard, Notice

log = logging.getLogger("huddlebot.teams")

RAISE_CONCERN = "raiseConcern"
FOLLOW_UP = "followUpConcern"
CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
FULL_TEXT_BYTES = 20_000  # bytes of text per "full text" card: well inside one Teams message
# Questions that change nothing: a resent one is simply answered again, so no dedupe row is written.
READ_ONLY = (c.HuddleStatus, c.ShowConcern, c.ShowHome)


def _record_id(value: object) -> bool:
    """A concern or huddle-run id the database can hold (a button value from elsewhere may not)."""
    return type(value) is int and 1 <= value < payloads.MAX_RECORD_ID


@dataclass(frozen=True, slots=True)
class Outcome:
    """The HTTP answer to one activity (an invoke's body, or nothing)."""

    status: int = 200
    body: dict[str, Any] | None = None


def _card_response(content: dict[str, Any], *, more: str = "") -> dict[str, Any]:
    return {"statusCode": 200, "type": CARD_RESPONSE, "value": cards.fit(content, more=more)}


def _message_response(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": teams_words(text)[:1000]}


class TeamsBot:
    """Handles activities for one core."""

    def __init__(
        self,
        core: Core,
        *,
        connector: BotConnector,
        references: References,
        messenger: TeamsMessenger,
        sign_in: SignIn | None = None,
    ) -> None:
        self.core = core
        self.sign_in = sign_in  # the dashboard's sign-in links (``dashboard``, personal chat only)
        self.connector = connector
        self.references = references
        self.messenger = messenger

    async def handle(self, activity: dict[str, Any]) -> Outcome:
        """Route one activity by type."""
        inbound = read(activity)
        if inbound.type == "message":
            await self._message(inbound)
            return Outcome()
        if inbound.type == "invoke":
            return await self._invoke(inbound)
        if inbound.type == "conversationUpdate":
            await self._conversation_update(inbound)
            return Outcome()
        if inbound.type == "installationUpdate":
            await self._installation_update(inbound)
            return Outcome()
        return Outcome()

    # --- messages ---------------------------------------------------------------------------------

    async def _message(self, inbound: Inbound) -> None:
        if isinstance(inbound.raw.get("value"), dict) and not inbound.raw.get("text"):
            await self._card_submit(inbound)
            return
        if inbound.kind == "personal":
            await self.references.remember(inbound, user_id=inbound.user_id)
            text = plain_text(inbound)
            if is_command(text):
                await self._command(inbound)
            elif (quoted := quoted_message(inbound)) and text:
                # A reply to one of the bot's messages in this chat: the core knows which concern it is.
                where = Address(inbound.where.platform, inbound.tenant, inbound.base_conversation, quoted)
                await self._in_thread(inbound, where, text)
            else:
                await self._reply_card(inbound, cards.help_card())
            return
        await self.references.remember(inbound)
        addressed = mentions_bot(inbound)
        text = plain_text(inbound)
        if addressed and is_command(text):
            await self._command(inbound)
        elif inbound.thread_root is not None and text and self._ours(inbound.base_conversation):
            # With ChannelMessage.Read.Group every channel reply arrives; only the bot's threads matter,
            # and the bot posts only in the channels the organisation file names.
            await self._in_thread(inbound, inbound.where, text)
        elif addressed:
            await self._reply_card(inbound, cards.help_card())
        # Anything else is channel chatter the bot was not asked about: ignored, never logged or stored.

    def _ours(self, channel: str) -> bool:
        return self.core.config.unit_for_channel("teams", channel) is not None

    async def _command(self, inbound: Inbound) -> None:
        command = translate(inbound)
        if isinstance(command, Local):
            if command.kind == "help":
                await self._reply_card(inbound, cards.help_card())
            elif command.kind == "round":
                await self._reply_card(inbound, self._round_opener(inbound.person, command.text or None))
            elif command.kind == "dashboard":
                if self.sign_in is None:
                    await self._reply_card(
                        inbound, cards.reply_card("The dashboard isn't available here.", "error")
                    )
                else:
                    link = await self.sign_in.request_link(inbound.person)
                    await self._reply_card(inbound, cards.reply_card(link.text, link.tone))
            else:
                tone = "error" if command.kind == "refused" else "info"
                await self._reply_card(inbound, cards.reply_card(command.text, tone))
            return
        key = None if isinstance(command, READ_ONLY) else inbound.event_key()
        reply = await self.core.handle(command, event_key=key)
        if reply.silent:
            return
        await self._reply_card(inbound, cards.reply_card(teams_words(reply.text), reply.tone))
        if reply.detail is not None:
            await self._send_detail(inbound, reply.detail)

    async def _in_thread(self, inbound: Inbound, where: Address, text: str) -> None:
        reply = await self.core.handle(
            c.MessageInThread(person=inbound.person, where=where, text=text), event_key=inbound.event_key()
        )
        if reply.silent:
            return
        if inbound.kind == "personal":
            await self._reply_card(inbound, cards.reply_card(teams_words(reply.text), reply.tone))
        elif reply.tone != "success":  # a success shows in the thread itself; a "no" goes to the person only
            await self._privately(inbound.person, teams_words(reply.text), reply.tone)

    async def _send_detail(self, inbound: Inbound, view: Any) -> None:
        # Not the concern's own thread (an answer where the command was typed): say how to answer anywhere.
        content = cards.render(view, threaded=False)
        if not isinstance(view, ConcernCard):
            await self._reply_card(inbound, content, more=cards.where_to_read(view))
            return
        shortened = await self._reply_card(inbound, content, more="The whole text follows, in parts.")
        if shortened:
            # The card was shortened to fit a Teams message: the whole text follows, in parts that fit.
            parts = cards.pieces(view.text, FULL_TEXT_BYTES)
            for number, part in enumerate(parts, 1):
                title = f"{view.ref} · full text, part {number} of {len(parts)}"
                body = [cards.text_block(title, weight="Bolder"), cards.text_block(cards.safe(part))]
                await self._reply_card(inbound, cards.card(body))

    async def _reply_card(self, inbound: Inbound, content: dict[str, Any], *, more: str = "") -> bool:
        """Answer in the conversation (and thread) the activity came from; True if the card was shortened."""
        conversation = inbound.conversation_id if inbound.kind == "channel" else inbound.base_conversation
        activity = cards.message(
            content,
            more=more,
            envelope=cards.envelope(
                bot_id=inbound.bot_id, conversation_id=conversation, reply_to_id=inbound.id or None
            ),
        )
        try:
            await self.connector.send(inbound.service_url, conversation, activity)
        except ConnectorError as error:
            log.warning("could not answer in Teams (%s %s)", error.status, error.code)
        return activity["attachments"][0]["content"] is not content

    async def _privately(self, person: Person, text: str, tone: str) -> None:
        """A note for ``person`` only (Teams has no ephemeral messages in channels): to their chat."""
        try:
            await self.messenger.post(Address.dm(person), Notice(text=text, tone=tone))  # type: ignore[arg-type]
        except Exception as error:  # a person who blocked the bot; nothing else to do
            log.info("could not send a private note (%s)", type(error).__name__)

    # --- card buttons -------------------------------------------------------------------------------

    def _action_command(self, person: Person, verb: str, data: dict[str, Any]) -> c.Command:
        """The core command a card button asks for (``Refusal`` for an unreadable or unknown one)."""
        value = data.get(cards.DATA_KEY)
        parsed = actions.parse_action(value if isinstance(value, str) else "")
        action = parsed.action
        if not all(_record_id(i) for i in (parsed.concern_id, parsed.run_id) if i is not None):
            raise Refusal("That button is out of date. Please use the latest message.", code="bad_action")

        def text(key: str | None) -> str:
            raw = data.get(key or "")
            return raw.strip() if isinstance(raw, str) else ""

        if parsed.concern_id is not None:
            ref = concern_reference(parsed.concern_id)
            if action == "acknowledge":
                return c.AcknowledgeConcern(person=person, ref=ref)
            if action == "in_progress":
                return c.SetConcernStatus(
                    person=person,
                    ref=ref,
                    status="in_progress",
                    note=text(cards.input_for("in_progress")) or None,
                    title=text(cards.title_input_for("in_progress")) or None,
                )
            if action == "reply":
                return c.ReplyToConcern(person=person, ref=ref, text=text(cards.input_for("reply")))
            if action == "resolve":
                return c.ResolveConcern(
                    person=person,
                    ref=ref,
                    text=text(cards.input_for("resolve")),
                    title=text(cards.title_input_for("resolve")) or None,
                )
            if action == "not_possible":
                return c.MarkNotPossible(
                    person=person,
                    ref=ref,
                    reason=text(cards.input_for("not_possible")),
                    title=text(cards.title_input_for("not_possible")) or None,
                )
        if parsed.run_id is not None:
            where = Address("teams", person.tenant)
            if action == "answer_clear":
                return c.AnswerHuddle(person=person, where=where, answer=Answer.CLEAR, run_id=parsed.run_id)
            if action == "answer_goodcatch":
                return c.AnswerHuddle(
                    person=person,
                    where=where,
                    answer=Answer.GOOD_CATCH,
                    text=text(cards.input_for("answer_goodcatch")) or None,
                    run_id=parsed.run_id,
                )
        raise Refusal("That button is out of date. Please use the latest message.", code="bad_action")

    async def _execute(self, inbound: Inbound) -> Outcome:
        """``adaptiveCard/action``: run the action, answer with the refreshed card (or a short message)."""
        action = inbound.value.get("action") if isinstance(inbound.value.get("action"), dict) else {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = action.get("verb") if isinstance(action.get("verb"), str) else ""
        try:
            command = self._action_command(inbound.person, verb, data)
        except Refusal as refusal:
            return Outcome(body=_message_response(refusal.message))
        reply = await self.core.handle(command, event_key=inbound.event_key())
        if not reply.ok:
            return Outcome(body=_message_response(reply.text))  # nothing changed; the card stays as it was
        ref = getattr(command, "ref", None)
        if ref is not None:
            # The clicker sees the new card at once; the outbox updates it for everyone else.
            shown = await self.core.handle(c.ShowConcern(person=inbound.person, ref=ref))
            if isinstance(shown.detail, ConcernCard):
                card = cards.concern_card(shown.detail, threaded=inbound.kind == "channel")
                return Outcome(body=_card_response(card, more=cards.where_to_read(shown.detail)))
        return Outcome(body=_message_response(reply.text or "Done."))

    async def _card_submit(self, inbound: Inbound) -> None:
        """An ``Action.Submit`` on a card (older clients): the same actions, answered with a message."""
        data = inbound.value
        if cards.DATA_KEY not in data:
            return  # not one of ours
        try:
            command = self._action_command(inbound.person, "", data)
        except Refusal as refusal:
            await self._reply_card(inbound, cards.reply_card(refusal.message, "error"))
            return
        reply = await self.core.handle(command, event_key=inbound.event_key())
        if not reply.silent:
            await self._privately(inbound.person, teams_words(reply.text), reply.tone)

    # --- invokes (card actions, dialogs) ------------------------------------------------------------

    async def _invoke(self, inbound: Inbound) -> Outcome:
        name = inbound.name or ""
        if name == "adaptiveCard/action":
            return await self._execute(inbound)
        if name in ("composeExtension/fetchTask", "task/fetch"):
            return self._fetch_task(inbound)
        if name in ("composeExtension/submitAction", "task/submit"):
            return await self._submit_task(inbound)
        return Outcome(body={})

    def _unit_here(self, inbound: Inbound) -> str | None:
        channel = inbound.channel_data.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        found = self.core.config.unit_for_channel("teams", channel_id or inbound.base_conversation)
        return found[0].id if found else None

    def _fetch_task(self, inbound: Inbound) -> Outcome:
        value = inbound.value
        command = value.get("commandId")
        data = value.get("data") if isinstance(value.get("data"), dict) else {}
        if command == FOLLOW_UP or data.get(dialogs.FORM_KEY) == dialogs.FOLLOW_UP_FORM:
            return Outcome(body=dialogs.task(dialogs.follow_up_form(), title=FOLLOW_UP_DIALOG))
        if data.get(dialogs.FORM_KEY) == dialogs.ROUND_FORM:
            unit = data.get("unit") if isinstance(data.get("unit"), str) else None
            return Outcome(body=self._round_dialog(inbound.person, dialogs.RoundForm(unit=unit)))
        run_id = None
        if isinstance(data.get(cards.DATA_KEY), str):
            try:
                run_id = actions.parse_action(data[cards.DATA_KEY]).run_id
            except Refusal:
                run_id = None
        form = dialogs.ConcernForm(
            unit=self._unit_here(inbound), run_id=run_id if _record_id(run_id) else None
        )
        return Outcome(body=self._concern_dialog(form))

    def _concern_dialog(
        self, form: dialogs.ConcernForm, warning: str | None = None, phi: bool = False
    ) -> dict[str, Any]:
        content = dialogs.concern_form(
            self.core.config,
            form,
            notify_available=self.core.sealer is not None,
            warning=teams_words(warning) if warning else None,
            phi_warning=phi,
        )
        return dialogs.task(content, title=RAISE_DIALOG)

    async def _submit_task(self, inbound: Inbound) -> Outcome:
        value = inbound.value
        data = value.get("data") if isinstance(value.get("data"), dict) else {}
        kind = data.get(dialogs.FORM_KEY) or (
            dialogs.FOLLOW_UP_FORM if value.get("commandId") == FOLLOW_UP else dialogs.CONCERN_FORM
        )
        if kind == dialogs.FOLLOW_UP_FORM:
            return await self._follow_up(inbound, data)
        if kind == dialogs.ROUND_FORM:
            return await self._log_round(inbound, data)
        return await self._raise(inbound, data)

    async def _raise(self, inbound: Inbound, data: dict[str, Any]) -> Outcome:
        form = dialogs.ConcernForm.from_submit(data)
        anonymous = form.anonymity == Anonymity.ANONYMOUS
        # An anonymous concern carries nothing of where it was typed beyond a team channel (never a chat id).
        channel = inbound.base_conversation if inbound.kind == "channel" else None
        where = Address("teams", inbound.tenant, channel=None if anonymous else channel)
        command = c.RaiseConcern(
            person=inbound.person,
            where=where,
            text=form.text,
            unit=form.unit,
            severity=form.severity,
            category=form.category,
            concern_type=form.concern_type,
            anonymity=form.anonymity,
            notify_me=form.notify_me and anonymous,
            post_anyway=form.post_anyway,
            share=form.share,  # the core keeps it for named concerns only, as the toggle says
            involves_leader=form.involves_leader,
        )
        reply = await self.core.handle(command, event_key=inbound.event_key())
        if reply.code == "duplicate":
            return Outcome(body=dialogs.task_message("This concern was already received."))
        if not reply.ok:
            return Outcome(
                body=self._concern_dialog(
                    form, reply.text, phi=reply.code == "phi_warning" or form.post_anyway
                )
            )
        if form.run_id is not None and form.anonymity == Anonymity.NAMED:
            # Raised from a huddle prompt: count the answer too (never for a confidential or anonymous one).
            await self.core.handle(
                c.AnswerHuddle(person=inbound.person, where=where, answer=Answer.CONCERN, run_id=form.run_id)
            )
        receipt = dialogs.receipt_card(teams_words(reply.text), code=reply.receipt_code)
        return Outcome(body=dialogs.task(receipt, title="Concern received", height="medium"))

    async def _follow_up(self, inbound: Inbound, data: dict[str, Any]) -> Outcome:
        code = data.get("code").strip() if isinstance(data.get("code"), str) else ""
        text = data.get("text").strip() if isinstance(data.get("text"), str) else ""
        reply = await self.core.handle(
            c.FollowUp(person=inbound.person, code=code, text=text or None),
            event_key=inbound.event_key() if text else None,
        )
        title = FOLLOW_UP_DIALOG
        if not reply.ok:
            return Outcome(
                body=dialogs.task(dialogs.follow_up_form(code=code, error=reply.text), title=title)
            )
        return Outcome(
            body=dialogs.task(dialogs.follow_up_form(code=code, result=teams_words(reply.text)), title=title)
        )

    # --- rounding ------------------------------------------------------------------------------------

    def _led_units(self, person: Person) -> list[tuple[str, str]]:
        """(id, name) of every unit ``person`` may log a round on: the units they lead, and below."""
        return [(u.id, u.name) for u in self.core.config.units if is_leader(self.core, person, u)]

    def _round_opener(self, person: Person, typed: str | None) -> dict[str, Any]:
        """``round [UNIT]``: a button that opens the round dialog, or a kind no."""
        led = self._led_units(person)
        if not led:
            return cards.reply_card(
                "Logging a round is for a unit's leaders, and the organisation file lists you as a leader "
                "of no unit. Nothing was logged. If you lead a unit, ask the huddlebot administrator to "
                "add you (write `whoami` to me for your Teams id).",
                "error",
            )
        if typed:
            unit = self.core.config.find_unit(typed)
            if unit is None or unit.id not in dict(led):
                names = ", ".join(f"{uid} ({name})" for uid, name in led)
                return cards.reply_card(
                    f"You can log a round on {names}. Nothing was logged: write `round` and one of them.",
                    "error",
                )
            return dialogs.round_opener(unit.id, unit.name)
        unit_id, name = led[0]
        return dialogs.round_opener(unit_id, name if len(led) == 1 else "one of your units")

    def _round_dialog(
        self, person: Person, form: dialogs.RoundForm, error: str | None = None
    ) -> dict[str, Any]:
        led = self._led_units(person)
        if not led:
            return dialogs.task_message("Logging a round is for a unit's leaders. Nothing was logged.")
        content = dialogs.round_form(led, form, error=teams_words(error) if error else None)
        return dialogs.task(content, title=ROUND_DIALOG)

    async def _log_round(self, inbound: Inbound, data: dict[str, Any]) -> Outcome:
        form = dialogs.RoundForm.from_submit(data)
        counts, wins = form.counts(), form.wins_list()
        # What the form cannot say is told in the dialog, with what was typed kept; nothing is stored.
        if isinstance(counts, str):
            return Outcome(body=self._round_dialog(inbound.person, form, counts))
        if isinstance(wins, str):
            return Outcome(body=self._round_dialog(inbound.person, form, wins))
        staff, patients, families = counts
        command = c.LogRound(
            person=inbound.person,
            # No channel: the unit is the one chosen, and a win's colleague is named by directory handle.
            where=Address("teams", inbound.tenant),
            unit=form.unit,
            staff=staff,
            patients=patients,
            families=families,
            wins=tuple((self._colleague(who), what) for who, what in wins),
            concerns=form.items("raise_issues"),
            tracked=form.items("track_issues"),
            barriers=form.items("barriers"),
        )
        reply = await self.core.handle(command, event_key=inbound.event_key())
        if reply.code == "duplicate":
            return Outcome(body=dialogs.task_message("This round was already logged."))
        if not reply.ok:
            return Outcome(body=self._round_dialog(inbound.person, form, reply.text))
        done = dialogs.receipt_card(teams_words(reply.text), title="Round logged")
        return Outcome(body=dialogs.task(done, title=ROUND_DIALOG, height="medium"))

    def _colleague(self, typed: str) -> str:
        """``@jo`` as typed, or the directory handle of ``@Jo Martin`` (a dialog has no @mentions, so a
        colleague is named by handle or by the name the organisation file gives them)."""
        name = " ".join(typed.lstrip("@").split()).casefold()
        for handle, entry in self.core.config.people.items():
            if name in (handle.casefold(), entry.name.casefold()):
                return f"@{handle}"
        return typed

    # --- installation -----------------------------------------------------------------------------

    async def _conversation_update(self, inbound: Inbound) -> None:
        raw = inbound.raw
        added = [m for m in raw.get("membersAdded") or [] if isinstance(m, dict)]
        removed = [m for m in raw.get("membersRemoved") or [] if isinstance(m, dict)]
        event = inbound.channel_data.get("eventType")
        if any(m.get("id") == inbound.bot_id for m in removed) or event == "teamDeleted":
            await self._uninstalled(inbound)
            return
        if any(m.get("id") == inbound.bot_id for m in added):
            await self._installed(inbound)
            return
        channel = (
            inbound.channel_data.get("channel")
            if isinstance(inbound.channel_data.get("channel"), dict)
            else {}
        )
        if event in ("channelCreated", "channelRenamed", "channelRestored") and channel.get("id"):
            await self.references.remember(
                inbound, conversation_id=channel["id"], kind="channel", name=channel.get("name")
            )
        elif event == "channelDeleted" and channel.get("id"):
            await self.references.forget(channel["id"])

    async def _installation_update(self, inbound: Inbound) -> None:
        action = str(inbound.raw.get("action") or "")
        if action.startswith("remove"):
            await self._uninstalled(inbound)
        elif action.startswith("add"):
            await self._installed(inbound)

    async def _installed(self, inbound: Inbound) -> None:
        if inbound.kind == "personal":
            new = await self.references.remember(inbound, user_id=inbound.user_id)
        else:
            new = await self.references.remember(inbound)
        if inbound.kind == "channel" and inbound.team_id:
            await self._remember_team_channels(inbound)
        log.info("Teams: installed in a %s (%s)", inbound.kind, "new" if new else "known")
        if new:
            activity = cards.message(
                cards.help_card(greeting=True),
                summary="Hello from huddlebot",
                envelope=cards.envelope(bot_id=inbound.bot_id, conversation_id=inbound.base_conversation),
            )
            try:
                await self.connector.send(inbound.service_url, inbound.base_conversation, activity)
            except ConnectorError as error:
                log.warning("could not say hello in Teams (%s %s)", error.status, error.code)

    async def _remember_team_channels(self, inbound: Inbound) -> None:
        """Every channel of the team: huddle prompts and concern cards may go to any of them."""
        assert inbound.team_id is not None
        try:
            channels = await self.connector.team_channels(inbound.service_url, inbound.team_id)
        except ConnectorError as error:
            log.warning("could not list the team's channels (%s %s)", error.status, error.code)
            return
        for channel in channels:
            name = channel.get("name") if isinstance(channel.get("name"), str) else "General"
            await self.references.remember(inbound, conversation_id=channel["id"], kind="channel", name=name)

    async def _uninstalled(self, inbound: Inbound) -> None:
        if inbound.kind == "channel" and inbound.team_id:
            await self.references.forget_team(inbound.team_id)
        await self.references.forget(inbound.base_conversation)
        log.info("Teams: removed from a %s", inbound.kind)
