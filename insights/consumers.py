from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import WebsocketDenier

from insights.live import groups_of, session_group
from learning import api_http

UNAUTHENTICATED = 4401


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """A signed-in person's live feed: the events about what they may see (insights.live)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        schema_name = self.scope["schema_name"]
        self.groups_joined = groups_of(schema_name, user)
        if self.scope.get("session_key"):  # closed when that session signs out
            self.groups_joined.append(session_group(schema_name, self.scope["session_key"]))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(
            {
                "event": "hello",
                "payload": {
                    "tenant": self.scope["tenant_slug"],
                    "username": user.username,
                    "role": user.role,
                },
            }
        )

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: Any = None, bytes_data: Any = None, **kwargs: Any) -> None:
        try:
            content = api_http.loads(text_data or bytes_data or "")
        except ValueError:  # not JSON, or nested too deeply: nothing to answer
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "ping":
            await self.send_json({"event": "pong", "payload": {}})

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "payload": message["payload"]})

    async def live_close(self, message: dict[str, Any]) -> None:
        """The session that opened this socket signed out."""
        await self.close(code=UNAUTHENTICATED)


class NoSuchSocket:
    """Any websocket path without a consumer: refused quietly (403 on the handshake)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await WebsocketDenier()(scope, receive, send)
