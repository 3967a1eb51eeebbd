"""Attacks: report one, record its outcome."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, board_row, commit, in_thread, sharing_of
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Accepted, CorrectAttack, CorroborateAttack, Created, ReportAttack, ResolveAttack
from services.errors import CHANGES_ITEM, CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class AttackController(Controller):
    path = "/v1/attacks"
    tags = ["attacks"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="reportAttack", status_code=201, responses=CREATES)
    async def report(self, request: Request, caller: Organisation, data: ReportAttack) -> Created:
        """Report an attack on members or organisations (a suspension, a proscription…)."""
        check_publisher(caller, data.org)
        attack = application(request).report_attack(caller.id, data)
        return await commit(request, Created(id=str(attack.id)), attack)

    @post("/{attack_id:str}/resolution", operation_id="resolveAttack", status_code=201,
          responses=CHANGES_ITEM)
    async def resolve(self, request: Request, caller: Organisation, attack_id: str, data: ResolveAttack) -> Accepted:
        """Record the outcome of an attack this organisation reported."""
        attack = await in_thread(application(request).resolve_attack, caller.id, attack_id, data)
        return await commit(request, Accepted(id=attack_id, version=attack.version), attack)

    # --- issue 11: corrected facts, and corroboration by another organisation ---------

    @post("/{attack_id:str}/corrections", operation_id="correctAttack", status_code=201,
          responses=CHANGES_ITEM)
    async def correct(self, request: Request, caller: Organisation, attack_id: str, data: CorrectAttack) -> Accepted:
        """Correct the facts of an attack this organisation reported (summary, severity, targets)."""
        attack = await in_thread(application(request).correct_attack, caller.id, attack_id, data)
        return await commit(request, Accepted(id=attack_id, version=attack.version), attack)

    @post("/{attack_id:str}/corroborations", operation_id="corroborateAttack", status_code=201,
          responses=CHANGES_ITEM)
    async def corroborate(self, request: Request, caller: Organisation, attack_id: str,
                          data: CorroborateAttack) -> Created:
        """Confirm an attack another organisation reported and this one can see (once per
        organisation): the board shows who corroborated it."""
        row = await board_row(request, attack_id, caller.id, kind="attack")
        confirmed = await in_thread(application(request).corroborate_attack, caller.id, attack_id, row["org"],
                                    sharing_of(row), data)
        return await commit(request, Created(id=str(confirmed.id)), confirmed)
