"""Strikes, pickets and solidarity requests (the unions service)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import Provide

from events.organisations import Organisation
from services.api.context import application, commit, in_thread
from services.auth import KEY_REQUIRED, authenticate, check_publisher
from services.commands import Accepted, CallStrike, Created, EndStrike, RequestSolidarity, SchedulePicket
from services.errors import CHANGES_ITEM, CREATES
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class StrikeController(Controller):
    path = "/v1/strikes"
    tags = ["industrial"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="callStrike", status_code=201, responses=CREATES)
    async def call(self, request: Request, caller: Organisation, data: CallStrike) -> Created:
        """Call strike action: employer, sector, workplaces, dates, members involved."""
        check_publisher(caller, data.org)
        strike = application(request).call_strike(caller.id, data)
        return await commit(request, Created(id=str(strike.id)), strike)

    @post("/{strike_id:str}/pickets", operation_id="schedulePicket", status_code=201,
          responses=CHANGES_ITEM)
    async def picket(self, request: Request, caller: Organisation, strike_id: str, data: SchedulePicket) -> Created:
        """Schedule a picket line for one of this union's strikes."""
        strike, picket = await in_thread(application(request).schedule_picket, caller.id, strike_id, data)
        return await commit(request, Created(id=picket), strike)

    # --- issue 11: the strike's outcome --------------------------------------------------

    @post("/{strike_id:str}/outcome", operation_id="endStrike", status_code=201, responses=CHANGES_ITEM)
    async def end(self, request: Request, caller: Organisation, strike_id: str, data: EndStrike) -> Accepted:
        """One of this union's strikes is over: won, settled, lost or suspended (once)."""
        strike = await in_thread(application(request).end_strike, caller.id, strike_id, data)
        return await commit(request, Accepted(id=strike_id, version=strike.version), strike)


class SolidarityController(Controller):
    path = "/v1/solidarity-requests"
    tags = ["industrial"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="requestSolidarity", status_code=201, responses=CREATES)
    async def request_help(self, request: Request, caller: Organisation, data: RequestSolidarity) -> Created:
        """Ask the coalition for help: people on a picket, strike-fund donations, motions…"""
        check_publisher(caller, data.org)
        ask = application(request).request_solidarity(caller.id, data)
        return await commit(request, Created(id=str(ask.id)), ask)
