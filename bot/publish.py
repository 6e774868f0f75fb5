"""Writing views to the outbox and events to the audit log, inside the caller's transaction.

Nothing here talks to a platform: the dispatcher delivers what this writes, after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.model import Address, AuditEvent, OutboxItem
from bot.ports import Tx
from bot.views import View, dump_view

if TYPE_CHECKING:
    from bot.core import Core


async def post(
    tx: Tx,
    core: Core,
    address: Address,
    view: View,
    *,
    role: str,
    msg_key: str | None = None,
    thread_key: str | None = None,
    concern_id: int | None = None,
    run_id: int | None = None,
    due_at: datetime | None = None,
    once: bool = False,
) -> bool:
    """Queue ``view`` for ``address``; ``thread_key`` puts it in the thread of an earlier post.

    With ``once``, a post whose ``msg_key`` is already queued is not queued again (the unique key is
    the claim, so two replicas doing the same due work post it once); returns False then.
    """
    now = core.now()
    item = OutboxItem(
        op="post",
        role=role,
        view=dump_view(view),
        created_at=now,
        due_at=due_at or now,
        platform=address.platform,
        tenant=address.tenant,
        channel=address.channel,
        user_id=address.user,
        thread_ref=address.thread,
        thread_key=thread_key,
        msg_key=msg_key,
        target=address.target,
        concern_id=concern_id,
        run_id=run_id,
    )
    if once:
        return await tx.insert_if_absent(item) is not None
    tx.add(item)
    return True


async def post_sealed(tx: Tx, core: Core, platform: str, view: View, *, concern_id: int) -> None:
    """Queue ``view`` for an anonymous reporter whose address only the relay can unseal."""
    now = core.now()
    tx.add(
        OutboxItem(
            op="post",
            role="sealed",
            view=dump_view(view),
            created_at=now,
            due_at=now,
            platform=platform,
            target=f"sealed:{concern_id}",
            concern_id=concern_id,
            sealed=True,
        )
    )


async def redraw(tx: Tx, core: Core, posts: list[OutboxItem], render: Callable[[OutboxItem], View]) -> None:
    """Queue an in-place update of each post; an older unsent update of the same message is dropped."""
    now = core.now()
    for original in posts:
        if original.msg_key is None or original.status == "dead":
            continue
        await tx.supersede_pending_updates(ref_key=original.msg_key)
        tx.add(
            OutboxItem(
                op="update",
                role=original.role,
                view=dump_view(render(original)),
                created_at=now,
                due_at=max(now, original.due_at),
                platform=original.platform,
                tenant=original.tenant,
                channel=original.channel,
                user_id=original.user_id,
                ref_key=original.msg_key,
                target=original.target,
                concern_id=original.concern_id,
                run_id=original.run_id,
            )
        )


async def reply_under(tx: Tx, core: Core, posts: list[OutboxItem], view: View, *, role: str) -> None:
    """Queue ``view`` as a thread reply under each of ``posts``."""
    for root in posts:
        if root.msg_key is None or root.status == "dead":
            continue
        address = Address(root.platform or "", root.tenant or "", root.channel, None, root.user_id)
        await post(
            tx,
            core,
            address,
            view,
            role=role,
            thread_key=root.msg_key,
            concern_id=root.concern_id,
            run_id=root.run_id,
            due_at=max(core.now(), root.due_at),
        )


async def record(
    tx: Tx,
    core: Core,
    actor: str,
    action: str,
    *,
    concern_id: int | None = None,
    run_id: int | None = None,
    **detail: Any,
) -> None:
    """Append to the audit log. ``actor`` must never identify an anonymous reporter."""
    tx.add(
        AuditEvent(
            at=core.now(), actor=actor, action=action, concern_id=concern_id, run_id=run_id, detail=detail
        )
    )
