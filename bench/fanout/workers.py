"""Where subscribers run: groups of them in one event loop, in worker processes.

A hundred subscribers in the publisher's process would delay its own clock and
understate the lag, so they are spread over ``--workers`` spawned processes (one per
core by default), each running a :class:`Group` on its own loop (uvloop unless told
otherwise). The publisher's side sees each as a :class:`Remote` with the same
``start()`` / ``finish(expected)`` as a local :class:`Group` (``--workers 0``), and the
two talk over a pipe: "ready", then the expected count, then the group's figures.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from array import array
from typing import Any

from bench.fanout.cpu import process_cpu
from bench.fanout.options import ACK_EVERY, Job
from bench.fanout.subscribers import Subscriber


class Group:
    """Some of the subscribers, in one event loop."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.subs = [Subscriber(name, job) for name in job.names]
        self.cpu0 = 0.0
        self.wall0 = 0.0
        self.flusher: asyncio.Task | None = None

    async def start(self) -> None:
        # Partners connect at their own pace; a few at a time keeps the server's API calm.
        sem = asyncio.Semaphore(20)

        async def one(s: Subscriber) -> None:
            async with sem:
                await s.start()

        await asyncio.gather(*(one(s) for s in self.subs))
        self.cpu0, self.wall0 = process_cpu(), time.monotonic()
        if self.job.mode == "durable" and self.job.opts.ack == "all":
            self.flusher = asyncio.create_task(self.flush_acks())

    async def flush_acks(self) -> None:
        while True:
            await asyncio.sleep(ACK_EVERY)
            for s in self.subs:
                if s.unacked is not None and time.monotonic() - s.acked_at >= ACK_EVERY:
                    await s.flush_ack()

    async def drain(self, expected: int) -> float:
        """Wait until every subscriber has ``expected`` messages (bounded); seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + self.job.opts.drain_timeout
        while time.monotonic() < deadline:
            if all(len(s.seqs) >= expected for s in self.subs):
                break
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    async def finish(self, expected: int) -> dict[str, Any]:
        drained = await self.drain(expected)
        cpu, wall = process_cpu() - self.cpu0, time.monotonic() - self.wall0
        if self.flusher is not None:
            self.flusher.cancel()
        await asyncio.gather(*(s.stop() for s in self.subs), return_exceptions=True)
        lags = array("d")
        for s in self.subs:
            lags.extend(s.lags_ms)
        return {
            "lags": lags.tobytes(),
            "distinct": sum(len(s.seqs) for s in self.subs),
            "received": sum(s.received for s in self.subs),
            "duplicates": sum(s.duplicates for s in self.subs),
            "errors": sum(s.errors for s in self.subs),
            "complete": sum(1 for s in self.subs if len(s.seqs) >= expected),
            "drain_s": drained,
            "cpu_s": cpu,
            "wall_s": wall,
        }


def run_loop(coro: Any, loop: str) -> Any:
    """Run ``coro`` on uvloop (installed with uvicorn[standard]) or the stock asyncio loop."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coro)
    return asyncio.run(coro)


def _worker(conn: Any, job: Job) -> None:
    """A worker process: start its subscribers, say ready, wait for the count, report."""

    async def serve() -> None:
        group = Group(job)
        await group.start()
        conn.send("ready")
        expected = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(await group.finish(expected))

    try:
        run_loop(serve(), job.opts.loop)
    except BaseException as exc:  # tell the parent rather than leave it waiting
        conn.send(f"error: {exc!r}")
        raise


class Remote:
    """A worker process seen from the publisher's side."""

    def __init__(self, job: Job) -> None:
        self.job = job
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, job), daemon=True)
        self.proc.start()

    async def _recv(self, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, self.conn.poll, timeout)
        if not ready:
            raise TimeoutError("fanout worker did not answer")
        answer = self.conn.recv()
        if isinstance(answer, str) and answer.startswith("error"):
            raise RuntimeError(f"fanout worker failed: {answer}")
        return answer

    async def start(self) -> None:
        await self._recv(120)

    async def finish(self, expected: int) -> dict[str, Any]:
        self.conn.send(expected)
        try:
            return await self._recv(self.job.opts.drain_timeout + 120)
        finally:
            self.proc.join(10)
            self.abort()

    def abort(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)
