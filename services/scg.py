"""The caucus liaison's service: the Socialist Campaign Group's office publishes attacks
on MPs, actions, pledges and wins, and tables motions in Parliament."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.motions import MotionController
from services.application import PublisherApp, TablesMotions
from services.registry import Service


class ScgApp(TablesMotions, PublisherApp):
    """The caucus liaison's event store (schema ``scg``)."""

    name = "scg"


SERVICE = Service(
    name="scg",
    title="Socialist Campaign Group liaison: the caucus's publishing service",
    application=ScgApp,
    controllers=(AttackController, ActionController, WinController, MotionController),
)
