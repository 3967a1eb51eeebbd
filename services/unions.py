"""The union partners' service, one tenant per union (each by its own key): strikes,
pickets and calls for solidarity, besides attacks and campaigning."""

from __future__ import annotations

from services.api.attacks import AttackController
from services.api.campaigns import ActionController, WinController
from services.api.industrial import SolidarityController, StrikeController
from services.application import PublisherApp, utc
from services.commands import CallStrike, RequestSolidarity, SchedulePicket
from services.domain.industrial import SolidarityRequest, Strike
from services.registry import Service


class UnionsApp(PublisherApp):
    """The unions' event store (schema ``unions``)."""

    name = "unions"

    def call_strike(self, org: str, cmd: CallStrike) -> Strike:
        return Strike(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(), **cmd.fields())

    def schedule_picket(self, org: str, strike_id: str, cmd: SchedulePicket) -> tuple[Strike, str]:
        """A picket line for one of ``org``'s strikes; the strike (to save) and the picket's id."""
        strike = self.get_item(Strike, strike_id, org)
        picket = strike.schedule_picket(cmd.where, utc(cmd.when), cmd.needs, utc(cmd.occurred_at),
                                        tlp=cmd.tlp, region=cmd.region)
        return strike, picket

    def request_solidarity(self, org: str, cmd: RequestSolidarity) -> SolidarityRequest:
        return SolidarityRequest(org=org, occurred_at=utc(cmd.occurred_at), sharing=cmd.sharing(),
                                 **cmd.fields())


SERVICE = Service(
    name="unions",
    title="Union partners' publishing service (one tenant per union)",
    application=UnionsApp,
    controllers=(AttackController, StrikeController, SolidarityController, ActionController, WinController),
)
