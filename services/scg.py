"""The caucus liaison's service: the Socialist Campaign Group's office publishes attacks
on MPs, actions, pledges and wins."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.application import PublisherApp
from services.registry import Service


class ScgApp(PublisherApp):
    """The caucus liaison's event store (schema ``scg``)."""

    name = "scg"


SERVICE = Service(
    name="scg",
    title="Socialist Campaign Group liaison: the caucus's publishing service",
    application=ScgApp,
    controllers=(AttackController, ActionController, WinController),
)
