"""The services, each declared by its own module (``services/<name>.py``).

The list of service names is ``events.settings.SERVICES`` (the ground floor, read by
settings, the supervisor, the CLI and the compose test); what each service is — its
title, its application and its controllers — is declared once, in its module, as
``SERVICE``. Nothing else lists them.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Litestar, Router

from events.settings import SERVICES
from services.application import ServiceApplication


@dataclass(frozen=True)
class Service:
    """One organisation kind's service: what it offers and where its events are stored."""

    name: str
    title: str
    application: type[ServiceApplication]
    controllers: tuple[type[Controller] | Router, ...]
    """its controllers, and routers such as the forum's static files"""
    background: tuple[Callable[[Litestar, asyncio.Event], Awaitable[None]], ...] = ()
    """Tasks the service runs while it is up (the forum's escalation): each is started
    once the app's state is ready and given an event set when the service stops."""
    app_options: Callable[[], dict[str, Any]] | None = None
    """More of Litestar's settings for this service's app (the forum's sessions and CSRF)."""


def service(name: str) -> Service:
    """The service called ``name``, from its own module."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
    declared: Service = importlib.import_module(f"services.{name}").SERVICE
    assert declared.name == name == declared.application.name, f"services.{name} declares {declared.name}"
    return declared


def all_services() -> list[Service]:
    return [service(name) for name in SERVICES]
