"""The rebuild's own NATS protocol reader against the real server: it reads the shared log
exactly as nats-py does — every event, in order, byte for byte — from any start to any
end, and a wrong password is refused, not read around."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.common import engines
from bench.logdata import LogGenerator, fill_stream
from events.rawread import ProtocolError, Raw, read_raw
from events.replay import replay_raw
from events.settings import STREAM
from events.stream import connect


async def _both(url: str, start: int, end: int, batch_size: int) -> tuple[Raw, Raw, list[int]]:
    ours: Raw = []
    sizes: list[int] = []

    async def collect(batch: Raw) -> None:
        ours.extend(batch)
        sizes.append(len(batch))

    await read_raw(url, STREAM, start, end, collect, batch_size, "coalition.>", pull=700)
    theirs: Raw = []

    async def collect_theirs(batch: Raw) -> None:
        theirs.extend(batch)

    nc = await connect(url, "test-rawread", persistent=False)
    try:
        await replay_raw(nc.jetstream(timeout=30), start, end, collect_theirs, batch_size)
    finally:
        await nc.close()
    return ours, theirs, sizes


def test_the_raw_reader_reads_the_shared_log_as_nats_py_does(tmp_path: Path) -> None:
    with engines(tmp_path / "data") as eng:
        last = asyncio.run(fill_stream(eng.nats_url, 2500, generator=LogGenerator(11)))
        assert last == 2500

        # the whole log, in pulls of 700 and batches of 1,000: nothing lost, nothing twice
        ours, theirs, sizes = asyncio.run(_both(eng.nats_url, 1, last, 1000))
        assert [seq for seq, _ in ours] == list(range(1, last + 1))
        assert ours == theirs
        assert sizes == [1000, 1000, 500]

        # a stretch in the middle, as a rebuild's catch-up reads it
        ours, theirs, _ = asyncio.run(_both(eng.nats_url, 1234, 1300, 50))
        assert [seq for seq, _ in ours] == list(range(1234, 1301)) and ours == theirs

        parts = urlsplit(eng.nats_url)
        wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}"))

        async def nothing(batch: Raw) -> None:
            raise AssertionError("read with a wrong password")

        with pytest.raises(ProtocolError, match="(?i)authorization"):
            asyncio.run(read_raw(wrong, STREAM, 1, last, nothing))
