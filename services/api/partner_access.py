"""What the partners' channels on the forum (feed, webhooks, AsyncAPI) share: the calling
partner, under the sharing policy (``events.sharing``), and the shared log read by position."""

from __future__ import annotations

from functools import cache

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from nats.aio.client import Client as NATS

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
