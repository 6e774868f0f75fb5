"""Socket Mode: each envelope's payload goes through the same check as an HTTP request (``payloads.py``)
before Bolt sees it. One that does not fit is acknowledged (so Slack does not send it again) with the
kind answer where a person waits, and dropped; the check has logged one line."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from adapters.slack.payloads import check_socket, for_this_workspace


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, with the payload check in front."""

    tenant = ""  # the workspace this huddlebot serves (set by the platform)

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        verdict = for_this_workspace(check_socket(req.type, req.payload), self.tenant)
        if verdict.accepted:
            await super().handle(client, req)
            return
        await client.send_socket_mode_response(
            SocketModeResponse(
                envelope_id=req.envelope_id, payload=verdict.answer if verdict.status == 200 else None
            )
        )
