"""Read a stretch of a JetStream stream at the speed of the socket: a small NATS protocol
reader of our own, for the board's rebuild.

nats-py pays, per message, a regex match, a ``Msg`` object, a subscription queue and a
callback task hand-off; on this machine that caps it at 35–41k messages/s to a
do-nothing callback, below what the rebuild must reach. Reading a stream from a
known start to a known end needs little of a client: one connection, an ephemeral pull
consumer with ``AckPolicy.NONE`` (nothing to acknowledge, nothing left behind: the
server drops it when idle), large pull requests kept two ahead, and the replies parsed
from big chunks of socket data (:class:`Frames`). Everything else (reconnects, cluster
discovery, TLS) it refuses or leaves to nats-py: a rebuild that loses its connection is
simply run again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from events.stream import inbox_prefix, servers_and_credentials

Raw = list[tuple[int, bytes]]

CRLF = b"\r\n"
#: Seconds the server keeps our consumer with no pull request open: longer than a loaded
#: machine takes to apply the batches queued ahead (the reader waits meanwhile); it is
#: deleted at the end anyway, this only bounds what a killed reader leaves behind.
IDLE = 300.0


@dataclass(slots=True)
class Message:
    """One ``MSG``/``HMSG`` as it came: subject, reply subject, headers (``None`` for a
    ``MSG``) and payload."""

    subject: bytes
    reply: bytes | None
    headers: bytes | None
    payload: bytes


PING = "PING"
PONG = "PONG"
OK = "+OK"


@dataclass(slots=True)
class Info:
    info: dict


@dataclass(slots=True)
class Error:
    text: str


Frame = Message | Info | Error | str


class ProtocolError(Exception):
    """The server sent something this reader does not understand, or refused it."""


class Frames:
    """Split NATS server protocol data into frames, fed in chunks of any size.

    One ``find`` per control line and one slice per payload: no regex, no object per
    byte run. What is left of an incomplete frame waits for the next chunk."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[Frame]:  # noqa: C901 - one branch per operation
        buf = self._rest + data if self._rest else data
        out: list[Frame] = []
        pos, size = 0, len(buf)
        while pos < size:
            eol = buf.find(CRLF, pos)
            if eol < 0:
                break
            if buf.startswith(b"HMSG ", pos) or buf.startswith(b"MSG ", pos):
                headed = buf[pos] == 72  # "H"
                args = buf[pos + (5 if headed else 4):eol].split()
                try:
                    total = int(args[-1])
                    head = int(args[-2]) if headed else 0
                    reply = args[2] if len(args) == (5 if headed else 4) else None
                except (IndexError, ValueError) as exc:
                    raise ProtocolError(f"malformed control line {buf[pos:eol]!r}") from exc
                start = eol + 2
                end = start + total
                if end + 2 > size:
                    break  # the payload is not all here yet
                out.append(Message(args[0], reply, buf[start:start + head] if headed else None,
                                   buf[start + head:end]))
                pos = end + 2
                continue
            line = buf[pos:eol]
            pos = eol + 2
            if line == b"PING":
                out.append(PING)
            elif line == b"PONG":
                out.append(PONG)
            elif line == b"+OK":
                out.append(OK)
            elif line.startswith(b"-ERR"):
                out.append(Error(line[4:].strip().strip(b"'").decode(errors="replace")))
            elif line.startswith(b"INFO "):
                out.append(Info(json.loads(line[5:])))
            else:
                raise ProtocolError(f"unknown operation {line[:40]!r}")
        self._rest = buf[pos:]
        return out


def stream_seq(reply: bytes) -> int:
    """The stream sequence of a JetStream delivery, from its ack subject:
    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>…`` (9 tokens), or with domain and
    account hash after ``$JS.ACK`` (12 or more)."""
    tokens = reply.split(b".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 12:
        return int(tokens[7])
    raise ProtocolError(f"not a JetStream ack subject: {reply!r}")


def status(headers: bytes | None) -> int | None:
    """The status code of a server status message (``NATS/1.0 408 Request Timeout``), if any."""
    if not headers:
        return None
    first = headers.split(CRLF, 1)[0].split()
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else None


def consumer_request(stream: str, start: int, filter_subject: str | None, idle: float) -> bytes:
    """An ephemeral pull consumer from ``start``, no acks, gone once idle for ``idle`` s."""
    config: dict = {"deliver_policy": "by_start_sequence", "opt_start_seq": start, "ack_policy": "none",
                    "replay_policy": "instant", "inactive_threshold": int(idle * 1e9), "mem_storage": True,
                    "num_replicas": 1}
    if filter_subject:
        config["filter_subject"] = filter_subject
    return json.dumps({"stream_name": stream, "config": config}).encode()


class RawReader:
    """One connection that reads ``stream`` from ``start`` to ``end``, in order."""

    def __init__(self, url: str, stream: str, *, name: str = "coalition-rawread", pull: int = 10_000,
                 timeout: float = 30.0) -> None:
        servers, self.user, self.password = servers_and_credentials(url)
        host_port = servers[0].split("://", 1)[-1]
        self.host, _, port = host_port.rpartition(":")
        self.port = int(port)
        self.stream = stream
        self.name = name
        self.pull = pull
        self.timeout = timeout
        self.inbox = f"{inbox_prefix(self.user) if self.user else '_INBOX'}.{secrets.token_hex(8)}"
        self.frames = Frames()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.waiting: list[Frame] = []

    async def __aenter__(self) -> RawReader:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=1 << 22), self.timeout)
        first = await self._next()
        if not isinstance(first, Info):
            raise ProtocolError(f"expected INFO, got {first!r}")
        if first.info.get("tls_required"):
            raise ProtocolError("the server requires TLS, which this reader does not speak")
        connect: dict = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                         "protocol": 1, "lang": "python-raw", "version": "1", "name": self.name}
        if self.user:
            connect |= {"user": self.user, "pass": self.password}
        self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n"
                   + f"SUB {self.inbox}.> 1\r\n".encode())
        while (frame := await self._next()) != PONG:
            if isinstance(frame, Error):
                raise ProtocolError(f"the server refused the connection: {frame.text}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def _send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    def _publish(self, subject: str, reply: str, body: bytes) -> None:
        self._send(f"PUB {subject} {reply} {len(body)}\r\n".encode() + body + CRLF)

    async def _fill(self) -> None:
        assert self.reader is not None
        data = await asyncio.wait_for(self.reader.read(1 << 22), self.timeout)
        if not data:
            raise ProtocolError("the server closed the connection")
        self.waiting.extend(self.frames.feed(data))

    async def _next(self) -> Frame:
        while not self.waiting:
            await self._fill()
        return self.waiting.pop(0)

    async def _request(self, subject: str, body: bytes) -> dict:
        reply = f"{self.inbox}.api"
        self._publish(subject, reply, body)
        while True:
            frame = await self._next()
            if frame == PING:
                self._send(b"PONG\r\n")
            elif isinstance(frame, Error):
                raise ProtocolError(f"the server refused {subject}: {frame.text}")
            elif isinstance(frame, Message) and frame.subject == reply.encode():
                if status(frame.headers) == 503:
                    raise ProtocolError(f"no responders for {subject}: is JetStream enabled?")
                answer = json.loads(frame.payload)
                if "error" in answer:
                    raise ProtocolError(f"{subject}: {answer['error'].get('description', answer['error'])}")
                return answer

    async def read(self, start: int, end: int, on_batch: Callable[[Raw], Awaitable[None]],
                   batch_size: int = 5000, filter_subject: str | None = None) -> int:
        """Deliver ``(seq, payload)`` for stream sequences ``start..end`` to ``on_batch`` in
        batches of ``batch_size`` (the last shorter); returns how many were delivered.

        The batches go through a small queue so that reading the socket goes on while
        ``on_batch`` works (in a thread, or another process)."""
        if end < start:
            return 0
        created = await self._request(f"$JS.API.CONSUMER.CREATE.{self.stream}",
                                      consumer_request(self.stream, start, filter_subject, idle=IDLE))
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{created['name']}"
        deliveries = f"{self.inbox}.m"
        queue: asyncio.Queue[Raw | None] = asyncio.Queue(maxsize=2)
        pull = min(self.pull, end - start + 1)
        expires = int(self.timeout * 1e9)

        def ask() -> None:
            self._publish(next_subject, deliveries, json.dumps({"batch": pull, "expires": expires}).encode())

        async def pump() -> None:
            # What each open pull request may still bring, oldest first: the server serves
            # them in order, and a status message (expired, ran dry) ends the oldest.
            open_requests: deque[int] = deque()
            pending: Raw = []
            last = start - 1
            while last < end:
                while len(open_requests) < 2:  # two ahead: the server never waits for us to ask
                    ask()
                    open_requests.append(pull)
                if not self.waiting:
                    await self._fill()
                frames, self.waiting = self.waiting, []
                for frame in frames:
                    if type(frame) is Message:
                        if frame.reply is None:
                            code = status(frame.headers)
                            if code not in (404, 408, 409):
                                raise ProtocolError(f"pull request answered {frame.headers!r}")
                            if open_requests:
                                open_requests.popleft()
                            continue
                        open_requests[0] -= 1
                        if not open_requests[0]:
                            open_requests.popleft()
                        last = stream_seq(frame.reply)
                        if last > end:
                            break
                        pending.append((last, frame.payload))
                        if len(pending) >= batch_size or last >= end:
                            await queue.put(pending)
                            pending = []
                        if last >= end:
                            break
                    elif frame == PING:
                        self._send(b"PONG\r\n")
                    elif isinstance(frame, Error):
                        raise ProtocolError(f"the server: {frame.text}")
            if pending:
                await queue.put(pending)
            await queue.put(None)

        task = asyncio.create_task(pump())
        delivered = 0
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, task}, timeout=self.timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if task in done:
                        task.result()  # raises the reader's error
                        raise ProtocolError("the reader stopped before the end")
                    raise TimeoutError(f"no message of {self.stream} for {self.timeout}s")
                batch = getter.result()
                if batch is None:
                    break
                await on_batch(batch)
                delivered += len(batch)
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._send(f"PUB $JS.API.CONSUMER.DELETE.{self.stream}.{created['name']} 0\r\n\r\n".encode())
        await task  # an error after the last batch
        return delivered


async def read_raw(url: str, stream: str, start: int, end: int, on_batch: Callable[[Raw], Awaitable[None]],
                   batch_size: int = 5000, filter_subject: str | None = None, **options: object) -> int:
    """``RawReader(url, stream).read(start, end, on_batch, batch_size)`` on a connection of its own."""
    async with RawReader(url, stream, **options) as reader:  # type: ignore[arg-type]
        return await reader.read(start, end, on_batch, batch_size, filter_subject)
