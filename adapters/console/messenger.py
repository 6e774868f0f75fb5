"""The console Messenger: keeps every channel and DM in memory and prints each delivery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.console.render import headline, render
from bot.model import Address
from bot.ports import Delivered
from bot.views import View


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

    async def post(self, address: Address, view: View) -> Delivered:
        channel = address.channel or f"@{address.user}"
        message = ConsoleMessage(
            id=f"m{len(self.messages) + 1}", channel=channel, view=view, thread=address.thread
        )
        self.messages[message.id] = message
        if address.thread and address.thread in self.messages:
            self.messages[address.thread].replies.append(message.id)
        else:
            self.by_channel.setdefault(channel, []).append(message.id)
        where = f"{_place(channel)}, in thread" if address.thread else _place(channel)
        self.output(f"  → {where}: {headline(view)}")
        return Delivered(message_ref=message.id, channel=channel)

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        message = self.messages[message_ref]
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
