"""A platform started with a limit nobody chose is worse than one that does not start:
each numeric setting names the variable and the range it wants when its value is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import settings


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COALITION_AUTH_FAILURES_PER_MINUTE", "COALITION_ESCALATE_AFTER_MINUTES", "COALITION_WEBHOOK_JITTER",
                 "COALITION_WEBHOOK_TIMEOUT", "COALITION_ARCHIVE_AFTER_DAYS", "COALITION_BATCH_MAX_COMMANDS"):
        monkeypatch.delenv(name, raising=False)
    assert settings.auth_failures_per_minute() == 20
    assert settings.escalate_after_minutes() == 60.0
    assert settings.webhook_jitter() == 0.2
    assert settings.webhook_timeout() == 15.0
    assert settings.archive_after_days() == timedelta(days=7)
    assert settings.batch_max_commands() == 500


def test_the_benchmarks_may_turn_the_authentication_throttle_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COALITION_AUTH_FAILURES_PER_MINUTE", "0")
    assert settings.auth_failures_per_minute() == 0


@pytest.mark.parametrize(("name", "value", "says"), [
    ("COALITION_BATCH_MAX_COMMANDS", "lots", "must be a whole number, not 'lots'"),
    ("COALITION_BATCH_MAX_COMMANDS", "0", "must be at least 1 and at most 10000"),
    ("COALITION_AUTH_FAILURES_PER_MINUTE", "2.5", "must be a whole number"),
    ("COALITION_ESCALATE_AFTER_MINUTES", "0", "must be more than 0"),
    ("COALITION_WEBHOOK_JITTER", "1.5", "must be at least 0 and at most 1"),
    ("COALITION_WEBHOOK_TIMEOUT", "301", "at most 300"),
    ("COALITION_ARCHIVE_AFTER_DAYS", "-1", "must be at least 0"),
])
def test_a_wrong_value_names_the_variable_and_what_it_wants(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str) -> None:
    monkeypatch.setenv(name, value)
    reader = {"COALITION_BATCH_MAX_COMMANDS": settings.batch_max_commands,
              "COALITION_AUTH_FAILURES_PER_MINUTE": settings.auth_failures_per_minute,
              "COALITION_ESCALATE_AFTER_MINUTES": settings.escalate_after_minutes,
              "COALITION_WEBHOOK_JITTER": settings.webhook_jitter,
              "COALITION_WEBHOOK_TIMEOUT": settings.webhook_timeout,
              "COALITION_ARCHIVE_AFTER_DAYS": settings.archive_after_days}[name]
    with pytest.raises(RuntimeError, match=name) as raised:
        reader()
    assert says in str(raised.value)


def test_the_partners_fan_out_runs_unless_a_benchmark_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COALITION_PARTNER_FANOUT", raising=False)
    assert settings.partner_fanout()
    monkeypatch.setenv("COALITION_PARTNER_FANOUT", "off")
    assert not settings.partner_fanout()
    monkeypatch.setenv("COALITION_PARTNER_FANOUT", "no")
    with pytest.raises(RuntimeError, match="COALITION_PARTNER_FANOUT must be on or off"):
        settings.partner_fanout()
