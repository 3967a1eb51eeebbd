"""The board in a real browser (Debian's Chromium driven by Playwright), on a platform of
its own: an attack reported by a partner appears on an open board without a reload; a
coordinator acknowledges it and a second browser sees the change; a response is opened,
a task assigned and done; a decision is proposed, a block stops it, and once lifted the
outcome is shown; the board as it stood is shown as a past view whose digest is the one
the decision recorded; the decision's page shows its outcome and links to that past view,
whose digest is the replayed board's, and the past board downloads as CSV; an item's
timeline page lists its events; an observer can change nothing; and no request leaves the machine.

Screenshots go to ``test-artifacts/``. Without /usr/bin/chromium these tests skip, except
in CI (``CI=true``), where they fail."""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests import bodies
from tests.conftest import Running, start_platform, stop_platform

CHROMIUM = Path("/usr/bin/chromium")
#: How Chromium runs here as root, and without reaching for Google's hosts.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LOCAL = {"127.0.0.1", "localhost", "::1"}

if not CHROMIUM.exists():
    reason = ("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium; "
              ".ci/run installs it): the browser tests need it")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

#: Every URL any page of these tests asked for.
REQUESTS: list[str] = []
#: What the story's steps hand on to the next.
STORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_platform(tmp_path_factory.mktemp("browser") / "data")
    yield running
    stop_platform(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[dict[str, BrowserContext]]:
    """One browser context per person, kept for the whole story."""
    made: dict[str, BrowserContext] = {}
    yield made
    for context in made.values():
        context.close()


def context_for(browser: Browser, contexts: dict[str, BrowserContext], who: str, **options: object) -> BrowserContext:
    if who not in contexts:
        context = browser.new_context(**options)  # type: ignore[arg-type]
        context.on("request", lambda request: REQUESTS.append(request.url))
        context.set_default_timeout(15_000)
        contexts[who] = context
    return contexts[who]


def shot(page: Page, name: str, **options: object) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"board-{name}.png"
    page.screenshot(path=str(path), **options)  # type: ignore[arg-type]
    print(f"screenshot: {path}")
    return path


def board_page(browser: Browser, contexts: dict[str, BrowserContext], who: str, url: str) -> Page:
    context = context_for(browser, contexts, who)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    return page


def log_in(browser: Browser, contexts: dict[str, BrowserContext], live: Running, username: str) -> Page:
    password = json.loads((live.data_dir / "secrets.json").read_text())["coordinators"][username]
    page = board_page(browser, contexts, username, live.url("forum", "/login?next=/"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url("forum", "/"))
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


def report(live: Running, summary: str) -> tuple[str, float]:
    """An attack through the movement's API; its id and when its ``201`` arrived."""
    resp = live.post("momentum", "momentum", "/v1/attacks", {**bodies.ATTACK, "summary": summary,
                                                              "region": "Yorkshire"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], time.perf_counter()


def test_an_attack_appears_on_an_open_board_without_a_reload(live: Running, browser: Browser,
                                                             contexts: dict[str, BrowserContext]) -> None:
    page = board_page(browser, contexts, "public", live.url("forum", "/"))
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    latencies = []
    for n in range(5):
        item, acked = report(live, f"Branch officer {n} suspended for speaking at a picket")
        page.wait_for_selector(f'[data-list="triage"] #item-{item}', state="attached")
        latencies.append((time.perf_counter() - acked) * 1000)
    STORY["item"] = item
    STORY["before_ack"] = page.evaluate("document.body.dataset.position")
    assert page.evaluate("window.__notReloaded") is True
    card = page.locator(f"#item-{item}")
    expect(card).to_contain_text("Branch officer 4 suspended")
    expect(card.locator(".tlp")).to_have_text("TLP:GREEN")
    expect(card.locator("time[datetime]")).to_have_text("just now")
    expect(page.locator("#announcer")).to_contain_text("New on the board")
    print(f"publisher's 201 → card in the browser: median {statistics.median(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms over {len(latencies)} attacks "
          f"({', '.join(f'{ms:.1f}' for ms in latencies)} ms)")
    shot(page, "open-view", full_page=True)


def test_a_coordinator_acknowledges_and_a_second_browser_sees_it(live: Running, browser: Browser,
                                                                 contexts: dict[str, BrowserContext]) -> None:
    item = STORY["item"]
    coordinator = log_in(browser, contexts, live, "forum-duty")
    card = coordinator.locator(f"#item-{item}")
    card.locator("summary", has_text="Act on this item").click()
    card.get_by_role("button", name="Acknowledge").click()
    public = contexts["public"].pages[0]
    moved = public.locator(f'[data-list="responding"] #item-{item}')
    expect(moved.locator(".status")).to_have_text("acknowledged")
    assert public.evaluate("window.__notReloaded") is True
    expect(coordinator.locator(f'[data-list="responding"] #item-{item} .status')).to_have_text("acknowledged")


def test_a_response_is_opened_and_a_task_assigned_and_done(live: Running, browser: Browser,
                                                          contexts: dict[str, BrowserContext]) -> None:
    item = STORY["item"]
    page = contexts["forum-duty"].pages[0]
    card = page.locator(f"#item-{item}")
    if not card.locator("details.act").get_attribute("open") == "":
        card.locator("summary", has_text="Act on this item").click()
    card.locator(f"#rlead-{item}").select_option("momentum")
    card.locator(f"#plan-{item}").fill("Statement by noon; solidarity letters from every union")
    card.get_by_role("button", name="Open response").click()
    expect(card.locator(".status")).to_have_text("responding")
    card.locator(f"#assignee-{item}").select_option("rmt")
    card.locator(f"#task-{item}").fill("Draft the joint statement")
    card.get_by_role("button", name="Assign task").click()
    task = card.locator(".task", has_text="Draft the joint statement")
    expect(task).to_contain_text("rmt")
    expect(contexts["public"].pages[0].locator(f"#item-{item} .task")).to_contain_text("Draft the joint statement")
    shot(page, "coordinator-task", full_page=True)
    task.get_by_role("button", name="Mark done").click()
    expect(card.locator(".task")).to_have_count(0)
    expect(contexts["public"].pages[0].locator(f"#item-{item} .task")).to_have_count(0)


def test_a_block_stops_a_consent_decision_until_lifted(live: Running, browser: Browser,
                                                       contexts: dict[str, BrowserContext]) -> None:
    item = STORY["item"]
    forum = contexts["forum-duty"].pages[0]
    forum.locator("summary", has_text="Propose a decision").click()
    question = f"Call a national day of action? ({uuid.uuid4().hex[:6]})"
    forum.fill("#d-question", question)
    forum.select_option("#d-method", "consent")
    forum.fill("#d-refs", item)
    forum.get_by_role("button", name="Propose", exact=True).click()
    proposed = forum.locator('[data-list="decisions-open"] article.decision', has_text=question)
    expect(proposed).to_have_count(1)
    decision = str(proposed.get_attribute("data-id"))
    STORY["decision"] = decision

    rmt = log_in(browser, contexts, live, "rmt-coordinator")
    theirs = rmt.locator(f"#decision-{decision}")
    theirs.locator("summary").click()
    theirs.locator(f"#pos-{decision}").select_option("block")
    theirs.locator(f"#reason-{decision}").fill("Our members vote first")
    theirs.get_by_role("button", name="Record position").click()
    ours = forum.locator(f"#decision-{decision}")
    expect(ours.locator(".position-block")).to_contain_text("rmt")

    ours.locator("summary").click()
    ours.locator(f"#outcome-{decision}").fill("Day of action on Saturday")
    ours.locator(f"#rationale-{decision}").fill("Every organisation can mobilise by then")
    ours.get_by_role("button", name="Record outcome").click()
    refusal = ours.locator(".toast.error")
    expect(refusal).to_contain_text("block")
    expect(ours).to_have_attribute("data-status", "open")
    shot(forum, "decision-blocked", full_page=True)

    theirs = rmt.locator(f"#decision-{decision}")
    if theirs.locator("details.act").get_attribute("open") is None:
        theirs.locator("summary").click()
    theirs.locator(f"#pos-{decision}").select_option("agree")
    theirs.get_by_role("button", name="Record position").click()
    expect(ours.locator(".position-agree", has_text="rmt")).to_have_count(1)
    if ours.locator("details.act").get_attribute("open") is None:
        ours.locator("summary").click()
    ours.locator(f"#outcome-{decision}").fill("Day of action on Saturday")
    ours.locator(f"#rationale-{decision}").fill("Every organisation can mobilise by then")
    ours.get_by_role("button", name="Record outcome").click()
    made = forum.locator(f'[data-list="decisions-decided"] #decision-{decision}')
    expect(made.locator(".outcome")).to_contain_text("Day of action on Saturday")
    expect(contexts["public"].pages[0].locator(f'[data-list="decisions-decided"] #decision-{decision} .outcome')
           ).to_contain_text("Day of action on Saturday")


def test_the_past_view_shows_the_earlier_board_and_the_decision_digest_checks(
        live: Running, browser: Browser, contexts: dict[str, BrowserContext]) -> None:
    item, decision = STORY["item"], STORY["decision"]
    page = contexts["forum-duty"].pages[0]
    page.goto(live.url("forum", f"/?as_of={STORY['before_ack']}"))
    expect(page.locator("#past-banner")).to_contain_text("Past view")
    expect(page.locator(f'[data-list="triage"] #item-{item} .status')).to_have_text("new")
    expect(page.locator("#connection")).to_have_attribute("data-state", "off")
    assert page.locator("form[action^='/forms/']").count() == 0, "a past view is read-only"
    recorded = httpx.get(live.url("forum", f"/api/decisions/{decision}"), timeout=30).json()
    page.goto(live.url("forum", f"/?as_of={recorded['board_position']}"))
    expect(page.locator("#asof-digest")).to_have_text(recorded["board_digest"])
    expect(page.locator("#asof-position")).to_have_text(str(recorded["board_position"]))
    print(f"decision {decision}: recorded digest {recorded['board_digest']} = the past view's at position "
          f"{recorded['board_position']}")
    shot(page, "past-view", full_page=True)
    page.goto(live.url("forum", "/"))


def test_the_decision_page_shows_the_outcome_and_the_board_then_whose_digest_checks(
        live: Running, browser: Browser, contexts: dict[str, BrowserContext]) -> None:
    item, decision = STORY["item"], STORY["decision"]
    page = contexts["forum-duty"].pages[0]
    page.goto(live.url("forum", "/"))
    page.locator(f"#decision-{decision}").get_by_role("link", name="The decision's record").click()
    page.wait_for_url(live.url("forum", f"/decisions/{decision}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Call a national day of action?")
    expect(page.locator("#outcome")).to_contain_text("Day of action on Saturday")
    expect(page.locator("#outcome")).to_contain_text("Every organisation can mobilise by then")
    expect(page.locator("#positions")).to_contain_text("Our members vote first")
    expect(page.locator("#evidence a").first).to_have_attribute("href", f"/items/{item}")
    digest = page.locator("#proposed-digest").inner_text()
    position = int(page.locator("#board-then .n").inner_text())
    assert len(digest) == 64
    shot(page, "decision-page", full_page=True)

    # the board as it stood then: a past view, whose digest (as the proposer's organisation,
    # the forum) is the recorded one, and the one of the board replayed at that position
    page.locator("#board-then").click()
    page.wait_for_url(live.url("forum", f"/?as_of={position}"))
    expect(page.locator("#past-banner")).to_contain_text("Past view")
    expect(page.locator("#connection")).to_have_attribute("data-state", "off")
    expect(page.locator("#asof-position")).to_have_text(str(position))
    replayed = httpx.get(live.url("forum", "/api/board"), params={"as_of": position, "limit": 1},
                         headers=live.headers("forum"), timeout=30).json()["digest"]
    expect(page.locator("#asof-digest")).to_have_text(digest)
    assert replayed == digest
    print(f"decision page → board as of {position}: digest {digest} = the replayed board's")

    # that past board downloads as a CSV file, with the same digest on every line
    with page.expect_download() as downloading:
        page.locator("#downloads a", has_text="CSV").first.click()
    download = downloading.value
    assert download.suggested_filename == f"board-as-of-{position}.csv"
    lines = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert lines and {row["digest"] for row in lines} == {digest} and item in {row["id"] for row in lines}
    shot(page, "past-view-from-decision", full_page=True)

    # the evidence's timeline page: every event of the item, with organisation and person
    page.goto(live.url("forum", f"/decisions/{decision}"))
    page.locator("#evidence a").first.click()
    page.wait_for_url(live.url("forum", f"/items/{item}"))
    timeline = page.locator("#timeline")
    expect(timeline.locator("caption")).to_contain_text("Every event that concerns this item")
    expect(timeline.locator('tr[data-kind="task.done.v1"]')).to_have_count(1)
    expect(timeline.locator('tr[data-kind="item.triaged.v1"]').first).to_contain_text("Forum duty coordinator")
    expect(timeline.locator('tr[data-kind="decision.proposed.v1"]')).to_contain_text("the decision")
    shot(page, "timeline", full_page=True)
    page.goto(live.url("forum", "/"))


def test_an_observer_can_change_nothing(live: Running, browser: Browser,
                                        contexts: dict[str, BrowserContext]) -> None:
    item = STORY["item"]
    page = log_in(browser, contexts, live, "observer")
    expect(page.locator(f"#item-{item}")).to_have_count(1)
    assert page.locator("form[action^='/forms/']").count() == 0
    assert page.locator("details.act").count() == 0
    context = contexts["observer"]
    token = next(c["value"] for c in context.cookies() if c["name"] == "coalition_csrf")
    forged = context.request.post(live.url("forum", f"/forms/items/{item}/resolve"),
                                  form={"_csrf_token": token, "note": "closed by an observer"})
    assert forged.status == 403, forged.text()
    without_token = context.request.post(live.url("forum", f"/forms/items/{item}/resolve"), form={"note": "x"})
    assert without_token.status == 403
    expect(page.locator(f"#item-{item} .status")).to_have_text("responding")


def test_the_board_reads_at_phone_width(live: Running, browser: Browser,
                                        contexts: dict[str, BrowserContext]) -> None:
    context = context_for(browser, contexts, "phone", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live.url("forum", "/"))
    columns = page.evaluate("getComputedStyle(document.querySelector('main')).gridTemplateColumns")
    assert len(columns.split()) == 1, columns
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    shot(page, "phone", full_page=True)
    for path, name in ((f"/decisions/{STORY['decision']}", "phone-decision"), (f"/items/{STORY['item']}", "phone-timeline")):
        page.goto(live.url("forum", path))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        shot(page, name, full_page=True)


def test_no_request_leaves_the_machine() -> None:
    assert REQUESTS, "the browser made no request at all"
    away = [url for url in REQUESTS
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOCAL]
    assert not away, away
    assert not [url for url in REQUESTS if urlsplit(url).scheme not in ("http", "https", "ws", "wss", "data",
                                                                          "blob", "about")]


# --- the region view (issue 11): the map shows where attacks and strikes are open, and
# each region filters the board ---------------------------------------------------------


def test_the_region_map_shows_the_counts_and_each_region_filters_the_board(
        live: Running, browser: Browser, contexts: dict[str, BrowserContext]) -> None:
    import re

    east = live.post("momentum", "momentum", "/v1/attacks", {**bodies.ATTACK, "region": "east anglia",
                                                             "summary": "Norwich organiser suspended"})
    strike = live.post("rmt", "unions", "/v1/strikes", {**bodies.STRIKE, "region": "East of England"})
    london = live.post("momentum", "momentum", "/v1/attacks", {**bodies.ATTACK, "summary": "Camden member suspended"})
    ids = [r.json()["id"] for r in (east, strike, london) if r.status_code == 201]
    assert len(ids) == 3, (east.text, strike.text, london.text)
    live.wait_on_board(*ids)
    page = board_page(browser, contexts, "map-reader", live.url("forum", "/"))
    page.get_by_role("link", name="Map of regions").click()
    page.wait_for_url(live.url("forum", "/regions"))
    tile = page.locator("#tile-TLH")
    expect(page.locator("svg a.tile")).to_have_count(12)
    expect(tile).to_have_attribute("aria-label", re.compile(r"^East of England: 1 open attack and 1 strike this week"))
    expect(tile).to_have_attribute("data-total", "2")
    expect(page.get_by_role("row", name=re.compile("^East of England TLH 1 1 2$"))).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "region-view.png"), full_page=True)
    print(f"screenshot: {ARTIFACTS / 'region-view.png'}")

    # by keyboard: Tab reaches the East of England's tile, Enter opens the board filtered to it
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "tile-TLH":
            break
    assert page.evaluate("document.activeElement.id") == "tile-TLH", "Tab never reached the tile"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?region=East%20of%20England$"))
    expect(page.locator("#f-region")).to_have_value("East of England")
    expect(page.locator(f"#item-{ids[0]}")).to_have_count(1)
    expect(page.locator(f"#item-{ids[1]}")).to_have_count(1)
    expect(page.locator(f"#item-{ids[2]}")).to_have_count(0)

    # by mouse: London's tile
    page.goto(live.url("forum", "/regions"))
    page.get_by_role("link", name=re.compile("^London: ")).click()
    page.wait_for_url(re.compile(r"/\?region=London$"))
    expect(page.locator(f"#item-{ids[2]}")).to_have_count(1)
    expect(page.locator(f"#item-{ids[0]}")).to_have_count(0)
    away = [url for url in REQUESTS if urlsplit(url).hostname not in LOCAL and urlsplit(url).scheme.startswith("http")]
    assert not away, away
