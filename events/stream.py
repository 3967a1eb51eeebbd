"""The shared log: the JetStream stream ``COALITION`` and connections to it."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from coalition.settings import STREAM

log = logging.getLogger("coalition.stream")

SUBJECTS = ["coalition.>"]


def subject_filter(service: str) -> str:
    """Every subject one service publishes on: ``coalition.<service>.>``."""
    return f"coalition.{service}.>"


def stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="The coalition's shared log: every event the organisations publish",
        subjects=SUBJECTS,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        allow_atomic=True,
        allow_direct=True,
        duplicate_window=120.0,
    )


async def connect(url: str, name: str) -> NATS:
    """Connect with reconnects forever: engines may restart under a supervisor."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        connect_timeout=5,
    )


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the stream, or bring its configuration up to date."""
    config = stream_config(replicas)
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", STREAM)
    else:
        await js.update_stream(config)
