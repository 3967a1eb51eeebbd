"""The rebuild's own NATS protocol reader (events/rawread.py) on protocol bytes as the
server sends them: a pull request's deliveries, the statuses that end a request, the
server's PINGs and errors, cut into chunks anywhere."""

from __future__ import annotations

import pytest

from events.rawread import (
    PING,
    PONG,
    Error,
    Frames,
    Info,
    Message,
    ProtocolError,
    consumer_request,
    status,
    stream_seq,
)

ACK = b"$JS.ACK.COALITION.f3Vq1yX9.1.{seq}.{seq}.1764050000000000000.0"
SOURCED = b"NATS/1.0\r\nNats-Msg-Id: attacks-17\r\nNats-Stream-Source: LOG_ATTACKS 17\r\n\r\n"


def delivery(seq: int, payload: bytes, inbox: bytes = b"_INBOX.admin.ab12.m") -> bytes:
    """One JetStream delivery of a sourced message, byte for byte as nats-server frames it."""
    reply = ACK.replace(b"{seq}", str(seq).encode())
    return (b"HMSG %s 1 %s %d %d\r\n" % (inbox, reply, len(SOURCED), len(SOURCED) + len(payload))
            + SOURCED + payload + b"\r\n")


def test_a_pull_batch_of_strike_and_pledge_events_comes_out_in_order_with_stream_sequences() -> None:
    events = [b'{"type":"coalition.industrial.StrikeCalled.v1"}', b'{"type":"coalition.campaigns.ActionPledged.v1"}',
              b'{"note":"bring a flask\\r\\n and a sign"}']
    data = b"".join(delivery(40 + i, e) for i, e in enumerate(events))
    frames = Frames().feed(data)
    assert [stream_seq(f.reply) for f in frames] == [40, 41, 42]
    assert [f.payload for f in frames] == events  # a CRLF inside a payload is payload
    assert frames[0].headers == SOURCED and frames[0].subject == b"_INBOX.admin.ab12.m"


def test_any_cut_of_the_socket_data_gives_the_same_frames() -> None:
    data = (b"INFO {\"server_id\":\"N1\",\"headers\":true}\r\nPING\r\n"
            + delivery(7, b'{"summary":"Councillor suspended"}') + b"PONG\r\n"
            + delivery(8, b"x" * 300) + b"MSG _INBOX.admin.ab12.api 1 10\r\n{\"name\":1}\r\n")
    whole = Frames().feed(data)
    for cut in range(1, len(data)):
        frames = Frames()
        assert frames.feed(data[:cut]) + frames.feed(data[cut:]) == whole
    assert [type(f).__name__ if not isinstance(f, str) else f for f in whole] == [
        "Info", PING, "Message", PONG, "Message", "Message"]
    assert whole[0] == Info({"server_id": "N1", "headers": True})
    assert whole[-1] == Message(b"_INBOX.admin.ab12.api", None, None, b'{"name":1}')


def test_a_request_that_expires_or_runs_dry_ends_with_a_status_and_no_reply_subject() -> None:
    expired = b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 500\r\n\r\n"
    frames = Frames().feed(b"HMSG _INBOX.admin.ab12.m 1 %d %d\r\n%s\r\n" % (len(expired), len(expired), expired))
    assert frames[0].reply is None and status(frames[0].headers) == 408
    assert status(SOURCED) is None and status(None) is None


def test_the_server_refusing_is_an_error_frame_and_garbage_is_a_protocol_error() -> None:
    assert Frames().feed(b"-ERR 'Authorization Violation'\r\n") == [Error("Authorization Violation")]
    with pytest.raises(ProtocolError):
        Frames().feed(b"HELLO there\r\n")
    with pytest.raises(ProtocolError):
        Frames().feed(b"HMSG _INBOX.x 1 notanumber\r\n")


def test_stream_sequence_from_both_ack_subject_formats() -> None:
    assert stream_seq(b"$JS.ACK.COALITION.c.1.200000.200000.1764050000000000000.0") == 200000
    assert stream_seq(b"$JS.ACK.hub.ACCHASH.COALITION.c.1.12.12.1764050000000000000.0.tok") == 12
    with pytest.raises(ProtocolError):
        stream_seq(b"_INBOX.admin.reply")


def test_the_consumer_asked_for_keeps_nothing_to_acknowledge_and_goes_away_when_idle() -> None:
    import json

    config = json.loads(consumer_request("COALITION", 101, "coalition.>", idle=30))["config"]
    assert config["ack_policy"] == "none" and config["opt_start_seq"] == 101
    assert config["deliver_policy"] == "by_start_sequence" and config["inactive_threshold"] == 30 * 10**9
    assert config["filter_subject"] == "coalition.>" and "durable_name" not in config
