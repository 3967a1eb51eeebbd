"""``coalition export`` on the real engines: the board now and as of an earlier position,
an item's timeline and the decisions, as JSON and CSV, read from a running platform's
database through ``--data-dir`` — the same answers as the forum's API, digest included;
and the same files downloaded from the pages (``format=json|csv``, attached)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from projections.board.columns import BOARD_FIELDS, DECISION_FIELDS, TIMELINE_FIELDS
from tests.bodies import ATTACK
from tests.conftest import Running


def export(platform: Running, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "coalition.cli", "export", *args,
                           "--data-dir", str(platform.data_dir)], capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def api(platform: Running, path: str, viewer: str | None = None, **params: Any) -> Any:
    resp = httpx.get(platform.url("forum", path), params=params, timeout=30,
                     headers=platform.headers(viewer) if viewer else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def every_item(platform: Running, viewer: str | None = None, **params: Any) -> dict[str, Any]:
    """The API's board with every page followed (``next_cursor``): the whole board, however
    many items the other stories on this platform have put on it."""
    board = api(platform, "/api/board", viewer, limit=5000, **params)
    cursor = board.get("next_cursor")
    while cursor:
        page = api(platform, "/api/board", viewer, limit=5000, cursor=cursor, **params)
        board["items"] += page["items"]
        cursor = page.get("next_cursor")
    return board


def test_the_board_timeline_and_decisions_export_as_json_and_csv(platform: Running, tmp_path: Path) -> None:
    made = platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "summary": "Exported suspension"})
    assert made.status_code == 201, made.text
    attack = made.json()["id"]
    platform.wait_on_board(attack)
    then = api(platform, "/api/board", limit=1)["position"]
    resolved = platform.post("momentum", "momentum", f"/v1/attacks/{attack}/resolution", {"outcome": "reinstated"})
    assert resolved.status_code == 201, resolved.text
    proposed = platform.post("forum", "forum", "/v1/decisions", {
        "question": "Publish the export?", "method": "coordinator_call", "options": ["yes", "no"],
        "refs": [attack]})
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    outcome = platform.post("forum", "forum", f"/v1/decisions/{decision}/outcome",
                            {"outcome": "yes", "rationale": "For the auditors"})
    assert outcome.status_code == 201, outcome.text
    deadline = time.monotonic() + 20
    while not any(d["id"] == decision and d["status"] == "decided" for d in api(platform, "/api/decisions")):
        assert time.monotonic() < deadline, "the decision never reached the board"
        time.sleep(0.05)
    platform.wait_for_item(attack, lambda i: i["status"] == "resolved")

    # the board now: JSON as the API, with the digest of the whole board
    now = json.loads(export(platform, "board").stdout)
    assert next(i for i in now["items"] if i["id"] == attack)["status"] == "resolved"
    assert len(now["digest"]) == 64 and now["position"] > then
    assert decision in [d["id"] for d in now["decisions"]]
    replayed = api(platform, "/api/board", as_of=str(now["position"]), limit=1)
    assert replayed["digest"] == now["digest"], "the live export and the replayed board disagree"

    # the board as of P, as CSV to a file: the attack still new, the API's digest
    out = tmp_path / "board.csv"
    export(platform, "board", "--as-of", str(then), "--format", "csv", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(BOARD_FIELDS)
    past = rows(text)
    row = next(r for r in past if r["id"] == attack)
    assert (row["status"], row["tlp"], row["escalated"], row["position"]) == ("new", "GREEN", "false", str(then))
    assert json.loads(row["refs"]) == [] and row["created_at"]
    as_of = api(platform, "/api/board", as_of=str(then), limit=1)
    assert {r["digest"] for r in past} == {as_of["digest"]}
    assert len(past) == len(every_item(platform, as_of=str(then))["items"])
    # and by time, as the API answers it
    by_time = json.loads(export(platform, "board", "--as-of", as_of["as_of_time"]).stdout)
    assert (by_time["position"], by_time["digest"]) == (then, as_of["digest"])

    # the attack's timeline, both ways
    entries = json.loads(export(platform, "timeline", attack).stdout)
    assert entries == api(platform, f"/api/items/{attack}/timeline")
    assert [e["kind"] for e in entries][:2] == ["attack.reported.v1", "attack.resolved.v1"]
    lines = rows(export(platform, "timeline", attack, "--format", "csv").stdout)
    assert list(lines[0]) == list(TIMELINE_FIELDS)
    assert [r["kind"] for r in lines] == [e["kind"] for e in entries]

    # the decisions, both ways
    decisions = json.loads(export(platform, "decisions").stdout)
    assert decisions == api(platform, "/api/decisions")
    mine = next(d for d in decisions if d["id"] == decision)
    assert (mine["outcome"], mine["evidence"]) == ("yes", [attack]) and len(mine["board_digest"]) == 64
    table = rows(export(platform, "decisions", "--format", "csv").stdout)
    assert list(table[0]) == list(DECISION_FIELDS)
    line = next(r for r in table if r["id"] == decision)
    assert (line["status"], line["outcome"], line["board_digest"]) == ("decided", "yes", mine["board_digest"])
    assert json.loads(line["evidence"]) == [attack] and json.loads(line["options"]) == ["yes", "no"]


def test_an_export_sees_what_the_organisation_may_see(platform: Running) -> None:
    made = platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "tlp": "AMBER+STRICT", "audience": ["scg"]})
    assert made.status_code == 201, made.text
    hidden = made.json()["id"]
    deadline = time.monotonic() + 20
    while hidden not in [i["id"] for i in every_item(platform, "scg")["items"]]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert hidden in [i["id"] for i in json.loads(export(platform, "board", "--org", "scg").stdout)["items"]]
    assert hidden not in [i["id"] for i in json.loads(export(platform, "board").stdout)["items"]]
    assert hidden not in [r["id"] for r in rows(export(platform, "board", "--org", "rmt", "--format", "csv").stdout)]
    refused = export(platform, "timeline", hidden, ok=False)
    assert refused.returncode != 0 and f"no item {hidden}" in refused.stderr
    assert export(platform, "timeline", hidden, "--org", "scg").returncode == 0


def test_an_export_without_a_platform_or_with_a_bad_as_of_says_so(platform: Running, tmp_path: Path) -> None:
    nowhere = subprocess.run([sys.executable, "-m", "coalition.cli", "export", "decisions", "--data-dir",
                              str(tmp_path)], capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items()
                                  if k not in ("COALITION_DATABASE_URL", "COALITION_NATS_URL")})
    assert nowhere.returncode != 0 and "coalition up" in nowhere.stderr
    beyond = export(platform, "board", "--as-of", "999999999", ok=False)
    assert beyond.returncode != 0 and "has not reached position 999999999" in beyond.stderr
    nonsense = export(platform, "board", "--as-of", "yesterday", ok=False)
    assert nonsense.returncode != 0 and "ISO 8601" in nonsense.stderr
    stranger = export(platform, "decisions", "--org", "nobody", ok=False)
    assert stranger.returncode != 0 and "no organisation 'nobody'" in stranger.stderr


def download(platform: Running, path: str, name: str | None, viewer: str | None = None,
             **params: Any) -> httpx.Response:
    """A download link of the pages: a file (named ``name``), attached."""
    resp = httpx.get(platform.url("forum", path), params=params, timeout=30,
                     headers=platform.headers(viewer) if viewer else {})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"].startswith('attachment; filename="')
    if name is not None:
        assert resp.headers["content-disposition"] == f'attachment; filename="{name}"'
    kind = "text/csv" if params["format"] == "csv" else "application/json"
    assert resp.headers["content-type"].startswith(kind)
    return resp


def test_the_pages_downloads_are_what_coalition_export_writes(platform: Running) -> None:
    made = platform.post("rmt", "unions", "/v1/attacks", {**ATTACK, "summary": "Downloaded suspension"})
    assert made.status_code == 201, made.text
    attack = made.json()["id"]
    platform.wait_on_board(attack)
    proposed = platform.post("forum", "forum", "/v1/decisions", {
        "question": "Download the record?", "method": "majority", "options": ["yes", "no"], "refs": [attack]})
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    deadline = time.monotonic() + 20
    while decision not in [d["id"] for d in api(platform, "/api/decisions")]:
        assert time.monotonic() < deadline, "the decision never reached the board"
        time.sleep(0.05)
    position = api(platform, "/api/board", limit=1)["position"]

    # the board as of a position: the file is the export's, byte for byte as JSON, and the API's board
    as_json = download(platform, "/api/board", f"board-as-of-{position}.json", as_of=position, format="json").json()
    assert as_json == json.loads(export(platform, "board", "--as-of", str(position)).stdout)
    paged = every_item(platform, as_of=str(position))
    assert (as_json["position"], as_json["digest"]) == (paged["position"], paged["digest"])
    assert sorted(i["id"] for i in as_json["items"]) == sorted(i["id"] for i in paged["items"])
    as_csv = rows(download(platform, "/api/board", f"board-as-of-{position}.csv", as_of=position,
                           format="csv").text)
    assert as_csv == rows(export(platform, "board", "--as-of", str(position), "--format", "csv").stdout)
    assert list(as_csv[0]) == list(BOARD_FIELDS) and {r["digest"] for r in as_csv} == {as_json["digest"]}
    # the board now, as an organisation may see it, with the digest of the whole board
    # (named for its position, which something else may have moved on meanwhile)
    current = download(platform, "/api/board", None, "scg", format="json")
    now = current.json()
    assert current.headers["content-disposition"] == f'attachment; filename="board-{now["position"]}.json"'
    assert now["digest"] == api(platform, "/api/board", "scg", as_of=str(now["position"]), limit=1)["digest"]
    assert attack in [r["id"] for r in rows(download(platform, "/api/board", None, format="csv").text)]

    # a timeline, and the decisions: the API's JSON, the export's CSV
    timeline = download(platform, f"/api/items/{attack}/timeline", f"timeline-{attack}.json", format="json").json()
    assert timeline == api(platform, f"/api/items/{attack}/timeline") and timeline[-1]["kind"] == "decision.proposed.v1"
    lines = rows(download(platform, f"/api/items/{attack}/timeline", f"timeline-{attack}.csv", format="csv").text)
    assert lines == rows(export(platform, "timeline", attack, "--format", "csv").stdout)
    decisions = download(platform, "/api/decisions", "decisions.json", format="json").json()
    assert decisions == api(platform, "/api/decisions")
    table = rows(download(platform, "/api/decisions", "decisions.csv", format="csv").text)
    assert table == rows(export(platform, "decisions", "--format", "csv").stdout)
    assert next(r for r in table if r["id"] == decision)["question"] == "Download the record?"

    # the pages offer them
    board_page = httpx.get(platform.url("forum", "/"), timeout=30).text
    assert 'href="/api/board?format=csv" download' in board_page
    assert 'href="/api/decisions?format=json" download' in board_page
    past = httpx.get(platform.url("forum", "/"), params={"as_of": position}, timeout=30).text
    assert f'href="/api/board?format=csv&amp;as_of={position}" download' in past
    assert httpx.get(platform.url("forum", "/api/decisions"), params={"format": "xml"}, timeout=30).status_code == 400
