"""The movement's service: Momentum and its local groups publish attacks, actions,
pledges and wins."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.application import PublisherApp
from services.registry import Service


class MomentumApp(PublisherApp):
    """The movement's event store (schema ``momentum``)."""

    name = "momentum"


SERVICE = Service(
    name="momentum",
    title="Momentum: the movement's publishing service",
    application=MomentumApp,
    controllers=(AttackController, ActionController, WinController),
)
