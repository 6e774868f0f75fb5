"""``storage.conversations``: the Teams conversation references, on SQLite and PostgreSQL."""

from __future__ import annotations

from storage.conversations import TeamsConversations
from storage.engine import create_engine


async def test_save_find_and_forget(db_url: str) -> None:
    engine = create_engine(db_url)
    store = TeamsConversations(engine)
    try:
        common = {"tenant_id": "t1", "service_url": "https://smba.example/amer/", "bot_id": "28:bot"}
        assert await store.save(
            conversation_id="19:a@thread.tacv2", kind="channel", team_id="19:team", **common
        )
        assert not await store.save(
            conversation_id="19:a@thread.tacv2", kind="channel", name="4 West", **common
        )
        channel = await store.get("19:a@thread.tacv2")
        assert channel is not None and channel.name == "4 West" and channel.team_id == "19:team"  # kept
        assert await store.save(conversation_id="a:chat", kind="personal", user_id="29:dana", **common)
        assert (await store.personal(user_id="29:dana", tenant_id="t1")).conversation_id == "a:chat"
        assert await store.personal(user_id="29:dana", tenant_id="t2") is None
        assert (await store.latest_in_tenant("t1")) is not None and await store.tenants() == ["t1"]
        moved = {**common, "service_url": "https://smba.example/emea/"}
        await store.save(conversation_id="19:a@thread.tacv2", kind="channel", **moved)
        assert (await store.get("19:a@thread.tacv2")).service_url.endswith("/emea/")
        assert await store.forget_team("19:team") == 1
        assert await store.forget("a:chat") == 1
        assert await store.all() == []
    finally:
        await engine.dispose()
