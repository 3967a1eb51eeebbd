"""A partner's webhook receiver for the tests: an aiohttp server on loopback, in a thread
of its own, that verifies every delivery with the ``standardwebhooks`` package (the
reference implementation a partner would use), parses it with the ``cloudevents`` SDK, and
answers as each endpoint's script says (500s, a 503 or 429 with ``Retry-After``, a 410),
then 200."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_structured_event
from standardwebhooks import Webhook


@dataclass
class Delivery:
    path: str
    webhook_id: str
    signature: str
    body: bytes
    headers: dict[str, str]
    answered: int
    at: float
    subject: str
    type: str


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    secrets: dict[str, list[str]] = field(default_factory=dict)
    """Per path, the secrets a partner holds: a delivery must verify with one of them."""
    scripts: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=lambda: defaultdict(list))
    """Per path, the answers to give first (status, headers), in order; then 200."""
    deliveries: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """What failed verification or parsing (must stay empty)."""

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def at(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def received(self, path: str) -> list[Delivery]:
        """The deliveries answered 2xx, first receipt of each ``webhook-id`` only."""
        seen: dict[str, Delivery] = {}
        for d in self.at(path):
            if 200 <= d.answered < 300:
                seen.setdefault(d.webhook_id, d)
        return list(seen.values())

    def accepted(self, path: str) -> list[Delivery]:
        return [d for d in self.at(path) if 200 <= d.answered < 300]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        path = request.path
        try:
            errors = []
            for secret in self.secrets[path]:
                try:
                    Webhook(secret).verify(body, headers)
                    break
                except Exception as exc:  # noqa: BLE001 - the next secret may verify it
                    errors.append(exc)
            else:
                raise errors[-1]
            event = from_structured_event(HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body))
            assert event.get_id() == request.headers["webhook-id"]
        except Exception as exc:  # noqa: BLE001 - recorded, and the test fails on it
            self.refused.append(f"{path}: {type(exc).__name__}: {exc}")
            return web.Response(status=400)
        script = self.scripts[path]
        status, extra = script.pop(0) if script else (200, {})
        self.deliveries.append(Delivery(path, request.headers["webhook-id"], request.headers["webhook-signature"],
                                        body, headers, status, time.monotonic(), str(event.get_subject()),
                                        event.get_type()))
        return web.Response(status=status, headers=extra)

    def start(self) -> Receiver:
        ready = threading.Event()

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_route("POST", "/{tail:.*}", self.handle)
            self.runner = web.AppRunner(app, access_log=None)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, self.host, self.port)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port it bound
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, name="webhook-receiver", daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
