"""The movement's service: Momentum and its local groups publish attacks, actions,
pledges and wins; register local groups, table motions, and keep the casework of its legal
and pastoral support unit (whose names and notes never leave this service)."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.casework import CaseController, CaseFileController
from services.api.groups import GroupController
from services.api.motions import MotionController
from services.api.visits import VisitController
from services.application import MovementApp
from services.registry import Service


class MomentumApp(MovementApp):
    """The movement's event store (schema ``momentum``)."""

    name = "momentum"


SERVICE = Service(
    name="momentum",
    title="Momentum: the movement's publishing service",
    application=MomentumApp,
    controllers=(AttackController, ActionController, WinController, GroupController, MotionController,
                 CaseController, CaseFileController, VisitController),
)
