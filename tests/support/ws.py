"""A minimal graphql-transport-ws client over a real websocket (the `websockets` library)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


class GraphQLWs:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._next_id = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        await self.socket.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next protocol message other than ping/pong."""
        async with asyncio.timeout(timeout):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if message["type"] == "ping":
                    await self.socket.send(json.dumps({"type": "pong"}))
                    continue
                if message["type"] != "pong":
                    return message

    async def next_payloads(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The data of the next `count` `next` frames (fails on an error frame)."""
        payloads = []
        while len(payloads) < count:
            message = await self.receive(timeout)
            assert message["type"] == "next", message
            payloads.append(message["payload"])
        return payloads


@asynccontextmanager
async def graphql_ws(
    base_url: str, *, authorization: str | None, ack: bool = True
) -> AsyncIterator[GraphQLWs]:
    """Connect to `base_url`/graphql and send connection_init with the Authorization param."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        payload = {} if authorization is None else {"Authorization": authorization}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        client = GraphQLWs(socket)
        if ack:
            message = await client.receive()
            assert message["type"] == "connection_ack", message
        yield client
