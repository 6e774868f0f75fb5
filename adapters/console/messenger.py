"""The console Messenger: keeps every channel and DM in memory and prints each delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.console.render import headline, render
from bot.model import Address, OutboxItem
from bot.ports import Delivered
from bot.views import View, load_view


@dataclass
class ConsoleMessage:
    """A message as the console shows it, with its thread."""

    id: str
    channel: str
    view: View
    thread: str | None = None
    replies: list[str] = field(default_factory=list)
    edited: bool = False


class ConsoleMessenger:
    """Delivers views to an in-memory chat: channels are unit ids, DMs are ``@handle``."""

    platform = "console"

    def __init__(self, output: Callable[[str], None] = print) -> None:
        self.output = output
        self.messages: dict[str, ConsoleMessage] = {}
        self.by_channel: dict[str, list[str]] = {}
        self._last_id = 0

    def restore(self, sent: list[OutboxItem]) -> int:
        """Rebuild the chat from the outbox rows an earlier session delivered (oldest first).

        The database remembers each message's id (``message_ref``), so a second session on the same
        database continues the same chat: replies and updates attach to the posts they belong to, and
        new messages get ids no earlier message had. Returns how many messages were restored.
        """
        refs = {row.msg_key: row.message_ref for row in sent if row.msg_key and row.message_ref}
        restored = 0
        for row in sent:
            if row.op == "post" and row.message_ref and row.message_channel:
                thread = refs.get(row.thread_key) if row.thread_key else row.thread_ref
                self._add(ConsoleMessage(row.message_ref, row.message_channel, load_view(row.view), thread))
                restored += 1
            elif row.op == "update" and refs.get(row.ref_key) in self.messages:
                message = self.messages[refs[row.ref_key]]  # type: ignore[index]
                message.view, message.edited = load_view(row.view), True
        return restored

    def _add(self, message: ConsoleMessage) -> None:
        self.messages[message.id] = message
        if message.thread and message.thread in self.messages:
            self.messages[message.thread].replies.append(message.id)
        else:
            self.by_channel.setdefault(message.channel, []).append(message.id)
        number = message.id[1:]
        if message.id.startswith("m") and number.isdigit():
            self._last_id = max(self._last_id, int(number))

    async def post(self, address: Address, view: View) -> Delivered:
        channel = address.channel or f"@{address.user}"
        message = ConsoleMessage(
            id=f"m{self._last_id + 1}", channel=channel, view=view, thread=address.thread
        )
        self._add(message)
        where = f"{_place(channel)}, in thread" if address.thread else _place(channel)
        self.output(f"  → {where}: {headline(view)}")
        return Delivered(message_ref=message.id, channel=channel)

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        message = self.messages.get(message_ref)
        if message is None:  # a message this chat never had (its database was swapped): say so, go on
            self.output(f"  ↻ {_place(channel)}: (a message from before this chat) {headline(view)}")
            return
        message.view, message.edited = view, True
        self.output(f"  ↻ {_place(channel)}: {headline(view)}")

    def min_interval(self, address: Address) -> float:
        return 0.0

    def transcript(self, channel: str) -> str:
        """Everything in ``channel``, threads indented, as a person scrolling it would see it."""
        lines = [f"── {_place(channel)} ──"]
        for message_id in self.by_channel.get(channel, []):
            message = self.messages[message_id]
            lines.append(_block(render(message.view) + (" (edited)" if message.edited else "")))
            for reply_id in message.replies:
                lines.append(_block(render(self.messages[reply_id].view), "      ↳ "))
        if len(lines) == 1:
            lines.append("  (nothing yet)")
        return "\n".join(lines)


def _place(channel: str) -> str:
    return channel if channel.startswith("@") else f"#{channel}"


def _block(text: str, first: str = "  • ") -> str:
    rest = " " * len(first)
    head, *tail = text.splitlines() or [""]
    return "\n".join([first + head, *(rest + line for line in tail)])
