"""A huddlebot with its web app on a real (test) server, and helpers to sign in as someone.

Sign-in goes the way a person goes: the console's ``dashboard`` verb prints a link, the test opens it
and presses "Sign in".
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from adapters.http.app import make_web_app
from bot.config import OrgConfig
from tests.conftest import Harness, make_harness

LINK = re.compile(r"https?://\S+/dashboard/sign-in\?token=[\w-]+")


class Client(TestClient):
    """A browser of its own on the shared test server: closing it leaves the server running."""

    async def close(self) -> None:
        if not self._closed:
            for response in self._responses:
                response.close()
            await self._session.close()
            self._closed = True


@dataclass
class Web:
    harness: Harness
    server: TestServer

    async def link(self, handle: str) -> str:
        """A sign-in link printed by the console for ``handle`` (the path and query only)."""
        out = await self.harness.run(f"as {handle}\ndashboard")
        found = LINK.search(out)
        assert found, out
        return "/dashboard" + found.group(0).split("/dashboard", 1)[1]

    async def client(self) -> Client:
        client = Client(self.server, cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        return client

    async def signed_in(self, handle: str) -> Client:
        client = await self.client()
        await sign_in(client, await self.link(handle))
        return client


async def sign_in(client: TestClient, link: str) -> None:
    page = await client.get(link)
    assert page.status == 200
    token = link.split("token=", 1)[1]
    done = await client.post("/dashboard/sign-in", data={"token": token}, allow_redirects=False)
    assert done.status == 303, await done.text()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@asynccontextmanager
async def serving(db_url: str, config: OrgConfig) -> AsyncIterator[Web]:
    """A huddlebot with ``config`` and its web app on a test server, closed at the end."""
    harness = await make_harness(db_url, config)
    server = TestServer(make_web_app(harness.app))
    await server.start_server()
    try:
        yield Web(harness=harness, server=server)
    finally:
        await server.close()
        await harness.app.close()


@pytest.fixture
async def web(db_url: str, example_config: OrgConfig) -> AsyncIterator[Web]:
    async with serving(db_url, example_config) as running:
        yield running
