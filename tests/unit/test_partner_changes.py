"""The forum's record of its partners' subscriptions, in memory: the RMT is confirmed as a
partner, revoked, then replayed from a log position; each change is one ``partner.changed``
of the RMT's partnership, attributed to the forum, shared AMBER with the RMT. A re-run of
the same change leaving the same consumer (or revocation) gets the same Idempotency-Key."""

from __future__ import annotations

import msgspec
import pytest

from coalition.partner_record import idempotency_key
from contracts import decode_envelope
from contracts.partners import PartnerChanged
from events.sharing import Partner
from services.commands import RecordPartnerChange
from services.domain.partners import Partnership, UnknownPartner
from services.domain.people import Actor
from services.forum import ForumApp
from services.translator import check_publishable

PARTNERS = (Partner(org="rmt", max_tlp="AMBER"), Partner(org="fbu"))
FORUM = Actor(org="forum")


def body(**fields: object) -> RecordPartnerChange:
    return msgspec.json.decode(msgspec.json.encode(fields), type=RecordPartnerChange)


def test_each_change_is_one_event_of_the_partners_partnership() -> None:
    app = ForumApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for change in (body(change="added"), body(change="revoked", note="Stopped paying dues"),
                   body(change="replayed", from_position=1200)):
        record = app.record_partner_change(FORUM, "rmt", PARTNERS, change)
        app.save(record)
    assert record.id == Partnership.create_id("rmt") and record.version == 3
    published = check_publishable("forum", app.events.get(record.id))
    events = [decode_envelope(p.payload) for p in published]
    assert {p.subject for p in published} == {"coalition.forum.partner.changed"}
    assert {e.subject for e in events} == {str(record.id)}
    data = [e.data for e in events]
    assert all(isinstance(d, PartnerChanged) for d in data)
    assert [(d.change, d.from_position, d.note) for d in data] == [   # type: ignore[union-attr]
        ("added", None, None), ("revoked", None, "Stopped paying dues"), ("replayed", 1200, None)]
    assert {(d.org, d.partner, d.max_tlp, d.tlp, tuple(d.audience or ())) for d in data} == {  # type: ignore[union-attr]
        ("forum", "rmt", "AMBER", "AMBER", ("rmt",))}


def test_a_partner_the_configuration_does_not_list_is_refused() -> None:
    app = ForumApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(UnknownPartner, match="no partner acme"):
        app.record_partner_change(FORUM, "acme", PARTNERS, body(change="added"))


@pytest.mark.parametrize(("fields", "message"), [
    ({"change": "replayed"}, "from_position: a replay starts"),
    ({"change": "revoked", "from_position": 3}, "from_position: only a replay"),
    ({"change": "paused"}, "`$.change`"),
])
def test_a_position_goes_with_a_replay_only(fields: dict, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message.replace("$", r"\$")):
        body(**fields)


def test_the_same_change_leaving_the_same_consumer_has_the_same_key() -> None:
    made = "2026-11-25T03:39:21+00:00"
    assert idempotency_key("rmt", "added", None, made) == idempotency_key("rmt", "added", None, made)
    others = {idempotency_key("rmt", "revoked", None, made), idempotency_key("fbu", "added", None, made),
              idempotency_key("rmt", "added", None, "2026-11-25T04:00:00+00:00"),
              idempotency_key("rmt", "replayed", 1, made), idempotency_key("rmt", "replayed", 2, made)}
    assert len(others) == 5 and idempotency_key("rmt", "added", None, made) not in others
