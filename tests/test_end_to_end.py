"""End to end: commands on three services reach the board, and the log exactly once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.bodies import ATTACK, STRIKE, action
from tests.conftest import Running
from tests.shared_log import assert_exactly_once_in_order, read_stream


def wait_for_log(platform: Running, expected_ids: set[str], timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while True:
        published = read_stream(platform.nats_url)
        if expected_ids <= {p.item for p in published} or time.monotonic() > deadline:
            return published
        time.sleep(0.1)


def test_commands_on_three_services_appear_on_the_board_and_once_on_the_log(platform: Running) -> None:
    """The caucus reports a threat to an MP, the RMT calls a strike, the movement calls
    picket support, all at once; the board shows all of it, the log holds each event once."""
    def burst(i: int) -> list[str]:
        attack = platform.post("scg", "scg", "/v1/attacks", {**ATTACK, "kind": "whip_removed",
                                                             "targets": [{"kind": "mp", "name": f"MP {i}"}]})
        strike = platform.post("rmt", "unions", "/v1/strikes", STRIKE)
        act = platform.post("momentum", "momentum", "/v1/actions", action([strike.json()["id"]]))
        return [r.json()["id"] for r in (attack, strike, act) if r.status_code == 201]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(burst, range(40)) for i in batch]
    assert len(ids) == 120
    board = platform.wait_on_board(*ids)
    on_board = {i["id"]: i for i in board["items"]}
    assert {on_board[i]["service"] for i in ids} == {"scg", "unions", "momentum"}
    assert board["position"] >= len(ids)

    published = wait_for_log(platform, set(ids))
    for service in ("momentum", "scg", "unions", "forum"):
        assert_exactly_once_in_order(platform.database_url, published, service)
    assert len({p.event_id for p in published}) == len(published)
    assert all(p.subject.startswith(f"coalition.{p.service}.") for p in published)
    seqs = [p.seq for p in published]
    assert seqs == sorted(seqs)


def test_the_board_page_shows_the_board(platform: Running) -> None:
    """Coordinators open the page and see the board, grouped."""
    import httpx

    attack = platform.post("momentum", "momentum", "/v1/attacks",
                           {**ATTACK, "summary": "Youth wing conference cancelled"}).json()["id"]
    platform.wait_on_board(attack)
    page = httpx.get(platform.url("forum", "/"))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "Youth wing conference cancelled" in page.text
    for heading in ("Attacks", "Strikes, pickets", "Actions", "Wins"):
        assert heading in page.text
