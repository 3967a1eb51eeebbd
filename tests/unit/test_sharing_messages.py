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
from nats.js.api import AckPolicy, DeliverPolicy

from events.partners import POSITION, consumer_config
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


def test_a_partner_reads_share_through_one_consumer_with_its_filters_so_order_is_kept() -> None:
    """One consumer of SHARE per partner, named after it, its policy as the consumer's
    filter_subjects: the server filters and delivers in SHARE's order, nothing is copied."""
    partner = Partner(org="fbu", max_tlp="GREEN")
    replayed = consumer_config(partner, start=7)
    assert replayed.durable_name == replayed.name == "fbu"
    assert replayed.filter_subjects == filters(partner) == ["share.all.clear.>", "share.all.green.>"]
    assert (replayed.deliver_policy, replayed.opt_start_seq) == (DeliverPolicy.BY_START_SEQUENCE, 7)
    assert replayed.ack_policy == AckPolicy.ALL, "in order: acking a batch's last message acks the batch"
    first = consumer_config(partner)
    assert (first.deliver_policy, first.opt_start_seq) == (DeliverPolicy.ALL, None), "backfilled from the start"


def test_a_partners_user_may_only_fetch_and_ack_through_its_own_consumer() -> None:
    [user] = [u for u in natsconf.users(partners=(Partner(org="rmt"),)) if u.name == "partner-rmt"]
    assert user.publish == ("$JS.API.CONSUMER.MSG.NEXT.SHARE.rmt", "$JS.API.CONSUMER.INFO.SHARE.rmt",
                            "$JS.ACK.SHARE.rmt.>", "$JS.ACK.*.*.SHARE.rmt.>")
    assert user.subscribe == ("_INBOX.partner-rmt.>",)
    assert natsconf.password_variable("partner-rmt") == "NATS_PASSWORD_PARTNER_RMT"


def test_a_new_partners_user_is_written_into_the_running_servers_configuration() -> None:
    """``coalition partners add`` rewrites only the users of the embedded server's nats.conf
    (its ports, store and pid file as the running server has them), then has it reload."""
    before = (Partner(org="rmt"),)
    passwords = {user: f"pw-{user}" for user in natsconf.user_names(partners=before)}
    conf = natsconf.embedded_config(4222, 8222, "/data/nats", passwords, before, pid_file="/data/nats.pid")
    assert 'pid_file: "/data/nats.pid"' in conf
    after = (*before, Partner(org="bfawu", max_tlp="GREEN"))
    rewritten = natsconf.with_authorization(conf, {**passwords, "partner-bfawu": "pw-new"}, after)
    assert rewritten.split("\nauthorization {")[0] == conf.split("\nauthorization {")[0]
    assert '"partner-bfawu", password: "pw-new"' in rewritten and "$JS.API.CONSUMER.MSG.NEXT.SHARE.bfawu" in rewritten
    assert rewritten.count("user:") == conf.count("user:") + 1
