"""What the partners' channels on the forum (feed, webhooks, AsyncAPI) share: the calling
partner, under the sharing policy (``events.sharing``), the shared log read by position,
and the partners' changes on it (``events.partnership``), one history per process."""

from __future__ import annotations

from functools import cache

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from nats.aio.client import Client as NATS

from events.partnership_log import PartnershipLog
from events.settings import data_dir
from events.sharing import Partner, all_people, load_partners


@cache
def policy() -> tuple[tuple[Partner, ...], frozenset[str]]:
    """The partners of the configuration (``[[partners]]`` of ``coalition.toml``) and their
    named people; read once per process."""
    partners = load_partners(data_dir())
    return partners, frozenset(all_people(partners))


def partner_of(org: str) -> Partner:
    """``org`` as a partner; 403 if the policy does not make it one."""
    for partner in policy()[0]:
        if partner.org == org:
            return partner
    raise PermissionDeniedException(f"{org} is not a partner in the sharing policy")


def log_reader(request: Request) -> NATS:
    """The service's NATS connection, whose user may read the shared log by position."""
    nc: NATS = request.app.state.nats
    return nc


def partnerships(request: Request) -> PartnershipLog:
    """The partners' changes as read from the log, one history for every request of this
    process (made on first use, on the service's NATS connection)."""
    state = request.app.state
    found: PartnershipLog | None = getattr(state, "partnerships", None)
    if found is None or found.nc is not state.nats:
        found = PartnershipLog(state.nats)
        state.partnerships = found
    return found
