"""Webhooks without engines: our signatures verify with the ``standardwebhooks`` package
(one secret, or either of two during a rotation), the retry schedule and ``Retry-After``,
which targets are refused, and the AsyncAPI document's structure."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from contracts.registry import CONTRACTS, kind_of
from events.asyncapi import document
from events.settings import WEBHOOK_SCHEDULE
from events.sharing import Partner
from events.signing import headers, new_secret
from events.targets import TargetRefused, allowed_networks, check_addresses, check_url
from webhooks.schedule import delay, retry_after

BODY = b'{"specversion":"1.0","id":"e1","type":"attack.reported.v1"}'


def test_a_delivery_verifies_with_the_reference_package() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    now = int(datetime.now(UTC).timestamp())
    sent = headers([secret], "e1", now, BODY)
    assert sent["webhook-id"] == "e1" and sent["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, sent)["id"] == "e1"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    sent = headers([new, old], "e2", int(datetime.now(UTC).timestamp()), BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, sent) and Webhook(new).verify(BODY, sent)


def test_the_schedule_is_the_specifications_with_jitter_then_its_last_interval_forever() -> None:
    assert WEBHOOK_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    rng = random.Random(7)
    assert delay(1, WEBHOOK_SCHEDULE, 0.0, rng) == 5
    assert 300 <= delay(2, WEBHOOK_SCHEDULE, 0.2, rng) <= 360
    assert delay(50, WEBHOOK_SCHEDULE, 0.0, rng) == 36000


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after("120") == 120
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert retry_after("-5") == 0 and retry_after("999999999") == 86400
    assert retry_after(None) is None and retry_after("soon") is None


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.5", "private"), ("192.168.1.1", "private"),
    ("172.16.0.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("::ffff:10.0.0.1", "private"), ("0.0.0.0", "refused"), ("100.64.0.1", "refused"),
])
def test_targets_that_are_not_public_are_refused(address: str, kind: str) -> None:
    with pytest.raises(TargetRefused, match=kind):
        check_addresses("example.org", [address], ())


def test_every_address_of_a_host_is_checked_and_allowed_networks_let_some_through() -> None:
    with pytest.raises(TargetRefused):
        check_addresses("mixed.example", ["93.184.216.34", "10.0.0.1"], ())
    check_addresses("example.org", ["93.184.216.34", "2606:2800:220:1::"], ())
    check_addresses("localhost", ["127.0.0.1", "::1"], allowed_networks(["127.0.0.0/8", "::1/128"]))
    with pytest.raises(TargetRefused):
        check_addresses("inside", ["10.0.0.1"], allowed_networks(["127.0.0.0/8"]))


@pytest.mark.parametrize("url", ["ftp://example.org/", "http:///nohost", "https://u:p@example.org/",
                                 "https://example.org/#frag", "https://example.org:99999/"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url)


def test_the_asyncapi_document_has_every_contract_and_each_partner_reading_share_through_its_consumer() -> None:
    partners = (Partner(org="rmt"), Partner(org="fbu", max_tlp="GREEN"))
    doc = document(partners)
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    assert {m["name"] for m in messages.values()} == {kind_of(c) for c in CONTRACTS}
    assert set(doc["channels"]) == {"coalition", "share-rmt", "share-fbu"}
    for channel in doc["channels"].values():
        assert set(channel["messages"]) == set(messages)
        params = {p for p in channel["parameters"]}
        assert all("{" + p + "}" in channel["address"] for p in params)
    fbu = doc["channels"]["share-fbu"]
    assert fbu["parameters"]["class"]["enum"] == ["all.clear", "all.green"], "a GREEN partner's consumer has no AMBER"
    assert "$JS.API.CONSUMER.MSG.NEXT.SHARE.fbu" in fbu["description"], "it reads SHARE through its own consumer"
    assert "PARTNER_" not in str(doc["channels"]), "no partner has a stream of its own"
    for operation in doc["operations"].values():
        assert operation["action"] == "receive" and operation["channel"]["$ref"].startswith("#/channels/")
    schemas = doc["components"]["schemas"]
    for message in messages.values():
        data = message["payload"]["properties"]["data"]["$ref"]
        assert data.removeprefix("#/components/schemas/") in schemas
        assert message["payload"]["properties"]["type"]["const"] == message["name"]
