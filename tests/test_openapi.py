"""The OpenAPI documents tell the truth: ``schemathesis run`` over every service's document,
on the real engines, with the service's own organisation's key and real ids on the routes
of an item (``tests/schemathesis.toml``, ``tests/openapi_hooks.py``). No 5xx, and every
answer one its document lists, with the documented content type, body and headers; what
a document calls invalid is refused, and so is a request without the key it requires.

It runs on a platform of its own (the items it creates stay there), with the
failed-authentication throttle off: it sends wrong keys on purpose. The four runs go
side by side, a few seconds each."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.bodies import ATTACK, BRANCH, DISPUTE, STRIKE, action, visit
from tests.conftest import Running, start_platform, stop_platform

ROOT = Path(__file__).parent.parent
#: The organisation whose key each service is fuzzed with.
CALLER = {"momentum": "momentum", "scg": "scg", "unions": "rmt", "forum": "forum"}
#: The path parameters that name an item, each given a real id (``tests/schemathesis.toml``).
ID_PARAMETERS = ("action_id", "attack_id", "strike_id", "item_id", "task_id", "decision_id", "case_id", "partner",
                 "visit_id", "branch_id", "serves", "balloted",  # issue 11 (publishers): these four
                 "endpoint_id", "doomed_endpoint_id")
#: The commands that change an item, which its state may refuse (409).
CHANGES = {"resolveAttack", "schedulePicket", "triageItem", "acknowledgeItem", "setItemPriority", "assignLead",
           "resolveItem", "openResponse", "recordReview", "completeTask", "takePosition", "makeDecision",
           "recordPartnerChange", "referCase", "recordCaseStep", "closeCase",
           # issue 11 (publishers)
           "correctAttack", "corroborateAttack", "completeAction", "endStrike", "confirmVisit", "declineVisit",
           "visitDone", "registerRep"}
#: What each read can answer (``whoAmI`` answers 200 alone).
READS = {"getBoard": {"200", "400", "401", "429", "503"}, "getItemTimeline": {"200", "400", "401", "404", "429", "503"},
         "listDecisions": {"200", "400", "401", "429", "503"}, "getDecision": {"200", "400", "401", "404", "429", "503"},
         "boardEvents": {"200", "400", "401", "429", "503"},
         "listPartnerChanges": {"200", "400", "401", "404", "429", "503"},
         "readCase": {"200", "400", "401", "404", "429", "503"},
         "getRegions": {"200", "401", "429", "503"},
         "listBranches": {"200", "400", "401", "429", "503"}}
#: The partners' routes on the forum (feed, webhooks, AsyncAPI): what each can answer.
#: They take a partner's key on any service's behalf, so never a 403 for the service, but
#: one for an organisation the sharing policy does not make a partner.
PARTNERS = {
    "readFeed": {"200", "400", "401", "403", "429", "503"},
    "feedEvents": {"200", "400", "401", "403", "429", "503"},
    "getAsyncApi": {"200"},
    "registerWebhook": {"201", "400", "401", "403", "413", "429", "503"},
    "listWebhooks": {"200", "401", "403", "429", "503"},
    "rotateWebhookSecret": {"201", "400", "401", "403", "404", "429", "503"},
    "removeWebhook": {"204", "400", "401", "403", "404", "429", "503"},
    "listWebhookFailures": {"200", "400", "401", "403", "404", "429", "503"},
    "redeliverWebhook": {"202", "400", "401", "403", "404", "413", "429", "503"},
}
#: The longest a service's run may take (generous: the machine may be shared with other runs).
RUN_WITHIN = 300


def item_ids(platform: Running) -> dict[str, dict[str, str]]:
    """Per service, the ids its routes of an item are fuzzed with: an action the caller can
    see (to pledge to), the caller's own attack and strike (to resolve, to picket) and, for
    the forum, an attack to triage (with a response, for its tasks and review), a task and
    a decision; on the board before the run starts."""
    def created(org: str, service: str, path: str, body: dict) -> str:
        resp = platform.post(org, service, path, body)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    ids = {service: {"action_id": created(org, service, "/v1/actions", action([]))}
           for service, org in CALLER.items()}
    for service in ("momentum", "scg", "unions"):
        ids[service]["attack_id"] = created(CALLER[service], service, "/v1/attacks", ATTACK)
    ids["unions"]["strike_id"] = created("rmt", "unions", "/v1/strikes", STRIKE)
    ids["forum"]["item_id"] = item = ids["scg"]["attack_id"]
    platform.wait_on_board(*(i for service in ids.values() for i in service.values()))
    ids["forum"]["partner"] = "rmt"  # a partner of the default configuration: no item, not on the board
    created("forum", "forum", f"/v1/items/{item}/response", {"lead_org": "rmt", "plan": "A picket rota"})
    ids["forum"]["task_id"] = created("forum", "forum", f"/v1/items/{item}/tasks", {"assignee": "rmt", "task": "x"})
    # the movement's case (of its attack), read by the caseworker it names (``openapi_hooks``)
    ids["momentum"]["case_id"] = created("momentum", "momentum", "/v1/cases", {
        "attack": ids["momentum"]["attack_id"], "member": "A. Member", "caseworkers": ["momentum-coordinator"]})
    ids["forum"]["decision_id"] = decision = created("forum", "forum", "/v1/decisions",
                                                     {"question": "Call a day of action?", "method": "majority",
                                                      "options": ["yes", "no"]})
    # issue 11: a visit the caucus can answer, a branch, an item to ask a visit for, a dispute to ballot
    for service in CALLER:
        ids[service]["serves"] = ids[service]["action_id"]
    ids["scg"]["visit_id"] = created("scg", "scg", "/v1/visits", visit(ids["scg"]["action_id"]))
    ids["unions"]["branch_id"] = created("rmt", "unions", "/v1/branches", BRANCH)
    ids["unions"]["balloted"] = created("rmt", "unions", "/v1/disputes", DISPUTE)
    platform.wait_on_board(ids["scg"]["visit_id"], ids["unions"]["branch_id"], ids["unions"]["balloted"])
    for name in ("endpoint_id", "doomed_endpoint_id"):  # the forum's own webhook endpoints (one to remove)
        resp = httpx.post(platform.url("forum", "/v1/webhooks"), json={"url": "http://127.0.0.1:9/fuzz"},
                          headers=platform.headers("forum"), timeout=30)
        assert resp.status_code == 201, resp.text
        ids["forum"][name] = resp.json()["endpoint"]["id"]
    deadline = time.monotonic() + 20
    while httpx.get(platform.url("forum", f"/api/decisions/{decision}"), headers=platform.headers("forum"),
                    timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the decision did not reach the board"
        time.sleep(0.05)
    return ids


def schemathesis_run(platform: Running, service: str, ids: dict[str, str], output: Path) -> subprocess.Popen:
    """``schemathesis run`` over ``service``'s document, with its caller's key, writing to ``output``."""
    caseworker = json.loads((platform.data_dir / "secrets.json").read_text())["coordinators"]["momentum-coordinator"]
    env = dict(os.environ, NO_COLOR="1", COALITION_FUZZ_CASEWORKER_AUTH="Basic " + base64.b64encode(
        f"momentum-coordinator:{caseworker}".encode()).decode(),
               **{f"COALITION_FUZZ_{name.upper()}": ids.get(name, "none") for name in ID_PARAMETERS})
    with open(output, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(ROOT / "tests" / "schemathesis.toml"),
             "run", platform.url(service, "/schema/openapi.json"),
             "--header", f"Authorization: Bearer {platform.keys[CALLER[service]]}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, dict[str, tuple[subprocess.Popen, Path]]]]:
    """The platform, and every service's run, all started at once."""
    folder = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COALITION_AUTH_FAILURES_PER_MINUTE", "0")
        env.setenv("COALITION_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")  # the endpoints registered below
        platform = start_platform(folder / "data")
    runs: dict[str, tuple[subprocess.Popen, Path]] = {}
    try:
        ids = item_ids(platform)
        for service in CALLER:
            output = folder / f"schemathesis-{service}.txt"
            runs[service] = (schemathesis_run(platform, service, ids[service], output), output)
        yield platform, runs
    finally:
        for proc, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stop_platform(platform)


@pytest.mark.parametrize("service", list(CALLER))
def test_every_answer_is_documented(fuzzed: tuple[Running, dict[str, tuple[subprocess.Popen, Path]]],
                                    service: str) -> None:
    proc, output = fuzzed[1][service]
    code = proc.wait(RUN_WITHIN)
    assert code == 0, output.read_text(errors="replace")[-30_000:]


def test_every_route_lists_its_refusals(fuzzed: tuple[Running, dict[str, tuple[subprocess.Popen, Path]]]) -> None:
    """What a route can answer besides its success is in its document, each with the one
    error body, and a command's body refuses unknown fields."""
    platform, _ = fuzzed
    for service in CALLER:
        spec = httpx.get(platform.url(service, "/schema/openapi.json"), timeout=10).json()
        schemas = spec["components"]["schemas"]
        for path, methods in spec["paths"].items():
            for method, op in methods.items():
                statuses = set(op["responses"])
                refusals = statuses - {"200", "201", "202", "204"}
                assert all(op["responses"][s]["content"]["application/json"]["schema"]["$ref"]
                           == "#/components/schemas/Error" for s in refusals), (service, path)
                if op["operationId"] in PARTNERS:
                    assert statuses == PARTNERS[op["operationId"]], (service, path)
                    if "requestBody" in op:
                        body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                        assert schemas[body]["additionalProperties"] is False, (service, body)
                    continue
                if method == "get":
                    assert statuses == READS.get(op["operationId"], {"200"}), (service, path)
                    continue
                expected = {"201", "400", "401", "403", "413", "422", "429", "503"}
                if op["operationId"] == "submitBatch":  # 200: each command's own answer is in the body
                    expected = {"200", "400", "401", "403", "413", "429", "503"}
                if "{" in path:
                    expected.add("404")
                if op["operationId"] in CHANGES:
                    expected.add("409")
                assert statuses == expected, (service, path)
                body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schemas[body]["additionalProperties"] is False, (service, body)
