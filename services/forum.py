"""The forum's service: the coordinators' board, triage and read API; the forum also
calls actions, takes pledges and records wins."""

from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError

from services.api.campaigns import ActionController, WinController
from services.api.forum import BoardController, TriageController
from services.application import CampaignApp, utc
from services.commands import TriageItem
from services.domain.sharing import Sharing
from services.domain.triage import Triage
from services.registry import Service


class ForumApp(CampaignApp):
    """The forum's event store (schema ``forum``)."""

    name = "forum"

    def triage(self, org: str, item: str, item_sharing: Sharing, cmd: TriageItem) -> Triage:
        """Set ``item``'s status and priority; the triage is shared as the item is."""
        sharing = item_sharing.passed_on(item)
        try:
            record: Triage = self.repository.get(Triage.create_id(item))
        except AggregateNotFoundError:
            return Triage(item, org, cmd.status, cmd.priority, cmd.note, utc(), sharing)
        record.triage(item, org, cmd.status, cmd.priority, cmd.note, utc(), sharing)
        return record


SERVICE = Service(
    name="forum",
    title="Forum: the coordinators' board, triage and read API",
    application=ForumApp,
    controllers=(TriageController, ActionController, WinController, BoardController),
)
