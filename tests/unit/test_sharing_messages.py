"""What the distributor puts on SHARE for one event, and what a partner's NATS user may do:
pure functions, no engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from coalition import natsconf
from contracts.campaigning import WinRecorded
from contracts.envelope import CloudEvent, encode_envelope
from events.partners import POSITION, partner_config
from events.sharing import Partner, filters
from projections.sharing.distributor import share


def raw(tlp: str, audience: list[str] | None) -> tuple[str, bytes]:
    data = WinRecorded(org="momentum", occurred_at=datetime.now(UTC), tlp=tlp, audience=audience,  # type: ignore[arg-type]
                       win_kind="other", summary="Reinstated")
    event = CloudEvent(id=str(uuid.uuid4()), source="/services/momentum", type="win.recorded.v1",
                       subject=str(uuid.uuid4()), time=datetime.now(UTC), tlp=data.tlp, data=data)
    return event.id, encode_envelope(event)


def test_an_amber_event_goes_once_per_organisation_named_and_once_for_the_forum_unchanged() -> None:
    event_id, payload = raw("AMBER", ["rmt", "fbu"])
    shared = share(41, payload, people=())
    assert [s.subject for s in shared] == ["share.org.rmt.amber.win.recorded.v1", "share.org.fbu.amber.win.recorded.v1",
                                           "share.org.forum.amber.win.recorded.v1"]
    assert {s.payload for s in shared} == {payload}, "the CloudEvent, and its marking, travel unchanged"
    assert [s.headers["Nats-Msg-Id"] for s in shared] == [f"{event_id}:org.rmt.amber", f"{event_id}:org.fbu.amber",
                                                          f"{event_id}:org.forum.amber"]
    assert all(s.headers[POSITION] == "41" and s.headers["Ce-Tlp"] == "AMBER" for s in shared)


def test_red_goes_only_to_named_people_and_garbage_is_refused() -> None:
    _, payload = raw("RED", ["rmt-jane", "rmt"])
    assert [s.subject for s in share(1, payload, people={"rmt-jane"})] == ["share.person.rmt-jane.red.win.recorded.v1"]
    with pytest.raises(msgspec.DecodeError):
        share(2, b"{not json", people=())


def test_a_partners_stream_has_one_source_with_its_filters_so_order_is_kept() -> None:
    partner = Partner(org="fbu", max_tlp="GREEN")
    config = partner_config(partner, start=7)
    assert config.name == "PARTNER_FBU" and not config.subjects
    [source] = config.sources or []
    assert source.name == "SHARE" and source.opt_start_seq == 7
    assert [t.src for t in source.subject_transforms or []] == filters(partner)


def test_a_partners_user_may_only_fetch_and_ack_through_its_own_consumer() -> None:
    [user] = [u for u in natsconf.users(partners=(Partner(org="rmt"),)) if u.name == "partner-rmt"]
    assert user.publish == ("$JS.API.CONSUMER.MSG.NEXT.PARTNER_RMT.rmt", "$JS.API.CONSUMER.INFO.PARTNER_RMT.rmt",
                            "$JS.ACK.PARTNER_RMT.rmt.>", "$JS.ACK.*.*.PARTNER_RMT.rmt.>")
    assert user.subscribe == ("_INBOX.partner-rmt.>",)
    assert natsconf.password_variable("partner-rmt") == "NATS_PASSWORD_PARTNER_RMT"
