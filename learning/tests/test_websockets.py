"""Live sockets over a real ASGI server and the real Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
import websockets
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django_tenants.utils import tenant_context

from learning import live


async def _connect(url: str, path: str, cookie: str = "", origin: str | None = None) -> Any:
    headers = {"Origin": origin or f"http://{url}"}
    if cookie:
        headers["Cookie"] = cookie
    return await websockets.connect(f"ws://{url}{path}", additional_headers=headers)


def _refused(url: str, path: str, cookie: str = "", origin: str | None = None) -> int:
    async def attempt() -> int:
        try:
            socket = await _connect(url, path, cookie, origin)
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        await socket.close()
        return 101

    return asyncio.run(attempt())


def test_signed_in_user_gets_the_tenant_feed(alpha, live_server_url) -> None:
    async def scenario() -> dict:
        cookie = f"sessionid_alpha={alpha.sessions['manager']}"
        async with await _connect(live_server_url, "/t/alpha/ws/live/", cookie) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(scenario()) == {
        "event": "hello",
        "payload": {"tenant": "alpha", "username": "alpha-manager", "role": "manager"},
    }


@pytest.mark.parametrize(
    "path,cookie_of",
    [
        ("/t/alpha/ws/live/", None),  # no session
        ("/t/beta/ws/live/", "alpha"),  # alpha's session presented to beta
        ("/t/nobody/ws/live/", "alpha"),  # no such tenant
        ("/ws/live/", "alpha"),  # outside any tenant
    ],
)
def test_sockets_without_a_session_of_that_tenant_are_refused(
    alpha, beta, live_server_url, path, cookie_of
) -> None:
    cookie = ""
    if cookie_of:
        session = alpha.sessions["rep"]
        cookie = f"sessionid_alpha={session}; sessionid_beta={session}"
    assert _refused(live_server_url, path, cookie) == 403


def test_socket_from_a_foreign_origin_is_refused(alpha, live_server_url) -> None:
    cookie = f"sessionid_alpha={alpha.sessions['rep']}"
    assert _refused(live_server_url, "/t/alpha/ws/live/", cookie, "http://evil.example") == 403


def test_events_reach_only_the_own_tenant(alpha, beta, live_server_url) -> None:
    async def scenario() -> tuple[dict, str]:
        a = await _connect(
            live_server_url, "/t/alpha/ws/live/", f"sessionid_alpha={alpha.sessions['rep']}"
        )
        b = await _connect(
            live_server_url, "/t/beta/ws/live/", f"sessionid_beta={beta.sessions['rep']}"
        )
        await a.recv(), await b.recv()  # hello
        layer = get_channel_layer()
        await layer.group_send(
            live.tenant_group(alpha.tenant.schema_name),
            {"type": "live.event", "event": "outcome.resolved", "payload": {"id": 1}},
        )
        got = json.loads(await asyncio.wait_for(a.recv(), 5))
        try:
            leaked = await asyncio.wait_for(b.recv(), 1)
        except TimeoutError:
            leaked = "nothing"
        await a.close(), await b.close()
        return got, leaked

    got, leaked = asyncio.run(scenario())
    assert got == {"event": "outcome.resolved", "payload": {"id": 1}}
    assert leaked == "nothing"


def test_publish_waits_for_commit(alpha, live_server_url, django_capture_on_commit_callbacks):
    ready, received = threading.Event(), []

    async def listen() -> None:
        async with await _connect(
            live_server_url, "/t/alpha/ws/live/", f"sessionid_alpha={alpha.sessions['executive']}"
        ) as socket:
            await socket.recv()  # hello
            ready.set()
            while True:
                try:
                    received.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
                except TimeoutError:
                    return

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert ready.wait(10)
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        tenant_context(alpha.tenant),
    ):
        live.publish("feedback.created", {"rating": 5})
    time.sleep(0.5)
    assert received == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    listener.join(15)
    assert received == [{"event": "feedback.created", "payload": {"rating": 5}}]


def test_group_names_start_with_the_schema() -> None:
    assert live.tenant_group("t_alpha") == "live.t_alpha"
    assert live.user_group("t_alpha", 7) == "live.t_alpha.user.7"
    assert async_to_sync is not None


def test_a_malformed_unrelated_cookie_does_not_drop_the_session(alpha, live_server_url) -> None:
    async def scenario() -> dict:
        cookie = f'pref={{"a":1}}; sessionid_alpha={alpha.sessions["rep"]}'
        async with await _connect(live_server_url, "/t/alpha/ws/live/", cookie) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 5))

    assert asyncio.run(scenario())["payload"]["username"] == "alpha-rep"


def test_nul_in_the_websocket_path_is_refused(alpha, live_server_url) -> None:
    assert _refused(live_server_url, "/t/%00/ws/live/") == 403
