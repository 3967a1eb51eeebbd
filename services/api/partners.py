"""The forum's record of its partners' subscriptions: ``POST /v1/partners/{partner}/changes``
(the forum's own key; ``coalition partners add|revoke|replay`` sends it) and the partner's
history of changes, read from the board's copy of the log."""

from __future__ import annotations

from typing import Annotated

import anyio
from litestar import Controller, Request, get, post
from litestar.params import Parameter

from events.settings import data_dir
from events.sharing import Partner, load_partners
from projections.board.queries import TimelineEntry, subject_timeline
from services.api.context import application, commit, in_thread, on_board
from services.auth import KEY_OPTIONAL, KEY_REQUIRED, authenticate, optional_viewer
from services.commands import Accepted, RecordPartnerChange
from services.domain.partners import Partnership, UnknownPartner
from services.domain.people import Actor
from services.errors import CHANGES_ITEM, READS_ITEM
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED

PartnerOrg = Annotated[str, Parameter(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                                      description="the partner organisation's id")]


async def configured_partners() -> tuple[Partner, ...]:
    """The partners of the configuration as it is now (``coalition.toml`` in the data
    folder, read each time: the CLI that makes the change reads the same file)."""
    return await anyio.to_thread.run_sync(load_partners, data_dir())


class PartnerController(Controller):
    path = "/v1/partners"
    tags = ["partners"]

    @post("/{partner:str}/changes", operation_id="recordPartnerChange", status_code=201, responses=CHANGES_ITEM,
          parameters=IDEMPOTENCY, response_headers=REPLAYED, security=KEY_REQUIRED)
    async def record(self, request: Request, partner: PartnerOrg, data: RecordPartnerChange) -> Accepted:
        """Record a change made to what a partner receives — ``added``, ``revoked``, or
        ``replayed`` from a log position — as ``partner.changed`` on the log, attributed to
        the forum. The forum's key only (another organisation's is a ``403``); a partner the
        configuration does not list is a ``404``. The change itself is made on the NATS server
        by ``coalition partners``, which sends this once it is made."""
        caller = authenticate(request)
        partners = await configured_partners()
        record = await in_thread(application(request).record_partner_change, Actor(org=caller.id), partner,
                                 partners, data)
        return await commit(request, Accepted(id=str(record.id), version=record.version), record)

    @get("/{partner:str}/changes", operation_id="listPartnerChanges", responses=READS_ITEM, security=KEY_OPTIONAL)
    async def changes(self, request: Request, partner: PartnerOrg) -> list[TimelineEntry]:
        """Every recorded change of a partner's subscription the caller may see, in log order
        (by default shared ``AMBER`` with the partner: the forum and the partner see them)."""
        viewer = optional_viewer(request)
        if partner not in {p.org for p in await configured_partners()}:
            raise UnknownPartner(f"no partner {partner} in the configuration")
        subject = str(Partnership.create_id(partner))
        return await on_board(request, lambda conn: subject_timeline(conn, subject, viewer))
