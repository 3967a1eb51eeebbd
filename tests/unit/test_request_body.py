"""A command's body on the way in, without engines: decoded once, straight into its Struct,
strictly (JSON of the types the fields say), and refused with a 400 that names the field.
The services' own request class on a one-route Litestar app, through Litestar's test client."""

from __future__ import annotations

from litestar import Litestar, post
from litestar.testing import TestClient

from services.commands import Body, ReportAttack
from services.limits import CommandRequest

ATTACK = {"kind": "suspension", "targets": [{"kind": "member", "name": "A. Member"}],
          "summary": "Suspended for sharing a picket-line photo", "severity": "high", "tlp": "GREEN",
          "region": "yorkshire"}


class Pledge(Body, frozen=True):
    """A body that counts how often it is made: each decoding runs ``__post_init__``."""

    people: int
    note: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        MADE.append(self.people)


MADE: list[int] = []


@post("/pledges", status_code=201)
async def pledge(data: Pledge) -> dict[str, int]:
    return {"people": data.people}


@post("/attacks", status_code=201)
async def report(data: ReportAttack) -> dict[str, str]:
    return {"region": data.region or "", "kind": data.attack_kind}


def client() -> TestClient[Litestar]:
    return TestClient(Litestar([pledge, report], request_class=CommandRequest, debug=False))


def test_a_pledge_is_made_from_its_body_once() -> None:
    """Litestar alone would decode the body into dicts, then convert them into the Struct (and
    the services used to convert it once more to check its types): three passes, the body's
    checks run twice. Now one strict decoder makes it, once."""
    MADE.clear()
    with client() as c:
        resp = c.post("/pledges", json={"people": 40, "note": "the Leeds branch"})
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"people": 40}
    assert MADE == [40]


def test_a_report_arrives_as_its_command_with_its_region_by_its_ons_name() -> None:
    with client() as c:
        resp = c.post("/attacks", json=ATTACK)
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"region": "Yorkshire and The Humber", "kind": "suspension"}


def test_a_head_count_sent_as_text_is_a_400_naming_the_field() -> None:
    """``"40"`` is not 40: the document and the contracts say a number."""
    MADE.clear()
    with client() as c:
        resp = c.post("/pledges", json={"people": "40"})
    assert resp.status_code == 400
    assert resp.json()["extra"] == [{"message": "Expected `int`, got `str`", "key": "people", "source": "body"}]
    assert MADE == []


def test_an_unknown_field_or_region_is_a_400_naming_it() -> None:
    with client() as c:
        unknown = c.post("/attacks", json={**ATTACK, "victim_home_address": "1 Any Street"})
        region = c.post("/attacks", json={**ATTACK, "region": "Atlantis"})
    assert unknown.status_code == 400
    assert unknown.json()["extra"][0]["message"] == "Object contains unknown field `victim_home_address`"
    assert region.status_code == 400 and region.json()["extra"][0]["key"] == "region"


def test_a_body_that_is_not_json_is_a_400_and_one_not_utf8_says_so() -> None:
    with client() as c:
        broken = c.post("/pledges", content=b'{"people": 4', headers={"content-type": "application/json"})
        latin1 = c.post("/pledges", content=b'{"people": 4, "note": "caf\xe9"}',
                        headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "truncated" in broken.text
    assert latin1.status_code == 400 and "not UTF-8" in latin1.text
