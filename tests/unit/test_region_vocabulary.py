"""The one vocabulary of places (``contracts.regions``): what partners may call a region,
what the commands store, how old events outside it are read, and how the region map
counts open attacks and strikes this week (``projections.board.regions``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from contracts.regions import ALIASES, BY_CODE, NAMES, REGIONS, canonical
from projections.board.fold import fold
from projections.board.regions import active_this_week, count_regions
from services.commands import CallStrike, ReportAttack, SchedulePicket
from tests import bodies
from tests.unit.examples import AT, NAMED, PUBLISHER, attack_reported, envelope, new_id


def test_the_vocabulary_is_the_twelve_itl1_regions_with_their_codes() -> None:
    assert len(REGIONS) == 12 and len(set(NAMES)) == 12
    assert {r.code: r.name for r in REGIONS} == {
        "TLC": "North East", "TLD": "North West", "TLE": "Yorkshire and The Humber", "TLF": "East Midlands",
        "TLG": "West Midlands", "TLH": "East of England", "TLI": "London", "TLJ": "South East",
        "TLK": "South West", "TLL": "Wales", "TLM": "Scotland", "TLN": "Northern Ireland"}


@pytest.mark.parametrize(("said", "meant"), [
    ("London", "London"), ("LONDON", "London"), ("  london ", "London"), ("Greater London", "London"),
    ("yorkshire", "Yorkshire and The Humber"), ("Yorkshire & the Humber", "Yorkshire and The Humber"),
    ("Yorkshire and the Humber", "Yorkshire and The Humber"), ("east anglia", "East of England"),
    ("NI", "Northern Ireland"), ("Cymru", "Wales"), ("north-east", "North East"), ("South West", "South West"),
    ("tli", "London"), ("UKM", "Scotland"), ("West Mids", "West Midlands"),
])
def test_names_codes_and_aliases_in_any_case_map_to_the_ons_name(said: str, meant: str) -> None:
    assert canonical(said) == meant


@pytest.mark.parametrize("said", ["Leeds", "York", "the north", "Atlantis", "Midlands", "", None, "N"])
def test_anything_else_is_outside_the_vocabulary(said: str | None) -> None:
    assert canonical(said) is None


def test_every_alias_names_a_region_of_the_vocabulary() -> None:
    assert set(ALIASES.values()) <= set(NAMES)
    assert all(canonical(alias) == name for alias, name in ALIASES.items())


def test_a_command_stores_the_ons_name_of_the_region_it_was_given() -> None:
    attack = msgspec.convert({**bodies.ATTACK, "region": "east anglia"}, ReportAttack, strict=True)
    assert attack.region == "East of England" and attack.sharing().region == "East of England"
    picket = msgspec.convert({"where": "Gate 1", "when": "2026-12-01T06:00:00Z", "region": "cymru"},
                             SchedulePicket, strict=True)
    assert picket.region == "Wales"
    assert msgspec.convert({**bodies.STRIKE, "region": None}, CallStrike, strict=True).region is None


def test_a_region_outside_the_vocabulary_is_refused_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"^`region` 'Leeds' is not a UK nation or English region"):
        msgspec.convert({**bodies.ATTACK, "region": "Leeds"}, ReportAttack, strict=True)


def test_an_old_event_with_a_region_outside_the_vocabulary_still_reads_and_folds() -> None:
    """The log keeps what it was told before the vocabulary: the contract decodes it, the
    board keeps its text, and the map counts it as unknown."""
    attack = new_id()
    event = envelope(attack_reported(region="Leeds"), attack)
    decoded = msgspec.json.decode(msgspec.json.encode(event), type=type(event))
    row = fold([(1, decoded)]).inserts[attack]
    assert row["region"] == "Leeds"
    counts = count_regions([{**row, "updated_at": AT}], None, AT, 1)
    assert counts.unknown.attacks == 1 and sum(r.total for r in counts.regions) == 0


def item(kind: str = "attack", region: str | None = "London", *, status: str = "new", tlp: str = "GREEN",
         org: str = PUBLISHER, audience: list[str] | None = None, age: timedelta = timedelta(hours=2),
         detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """A row of ``board.items`` as the count reads it."""
    return {"kind": kind, "region": region, "status": status, "tlp": tlp, "org": org, "audience": audience,
            "updated_at": AT - age, "detail": detail or {}}


def by_name(counts: Any) -> dict[str, tuple[int, int]]:
    return {r.name: (r.attacks, r.strikes) for r in counts.regions if r.total}


def test_open_attacks_and_strikes_of_this_week_count_per_region() -> None:
    rows = [item(region="London"), item(region="london"), item("strike", "Yorkshire and the Humber"),
            item(region="Scotland", status="acknowledged"), item("action", "Wales"), item("picket", "Wales"),
            item(region="Wales", status="resolved"), item("strike", "Wales", status="closed"),
            item(region="North East", age=timedelta(days=8)), item(region=None), item(region="Leeds")]
    counts = count_regions(rows, None, AT, 42)
    assert by_name(counts) == {"London": (2, 0), "Yorkshire and The Humber": (0, 1), "Scotland": (1, 0)}
    assert (counts.unknown.total, counts.no_region.total, counts.position) == (1, 1, 42)
    assert [r.code for r in counts.regions][:3] == ["TLM", "TLC", "TLN"] and len(counts.regions) == 12
    assert next(r for r in counts.regions if r.code == "TLE").board == "/?region=Yorkshire%20and%20The%20Humber"
    assert counts.since == AT - timedelta(days=7)


def test_a_strike_called_earlier_counts_in_a_week_with_a_strike_day() -> None:
    today = AT.date()
    on = item("strike", age=timedelta(days=20), detail={"starts_on": str(today - timedelta(days=2)),
                                                       "ends_on": str(today + timedelta(days=1))})
    over = item("strike", age=timedelta(days=20), detail={"starts_on": "2026-01-05", "ends_on": "2026-01-07"})
    assert active_this_week(on, AT) and not active_this_week(over, AT)
    assert not active_this_week(item("strike", age=timedelta(days=20)), AT)


def test_each_reader_counts_only_what_their_organisation_may_see() -> None:
    rows = [item(region="London"), item(region="London", tlp="AMBER"),
            item(region="London", tlp="RED", audience=[NAMED]), item(region="London", tlp="AMBER+STRICT")]
    assert by_name(count_regions(rows, None, AT, 1)) == {"London": (1, 0)}
    assert by_name(count_regions(rows, NAMED, AT, 1)) == {"London": (3, 0)}
    assert by_name(count_regions(rows, PUBLISHER, AT, 1)) == {"London": (4, 0)}
    assert by_name(count_regions(rows, "someone-else", AT, 1)) == {"London": (2, 0)}


def test_the_map_has_a_tile_for_every_region() -> None:
    from services.api.regions import TILES, shade

    assert set(TILES) == set(BY_CODE)
    assert len(set(TILES.values())) == 12
    assert shade(0) != shade(1) != shade(7) and shade(100) == shade(7)
