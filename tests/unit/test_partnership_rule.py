"""A partner's partnership along the log: what the feed and the webhooks deliver around a
revocation, a re-add and a replay (``events.partnership``)."""

from __future__ import annotations

from events.partnership import Change, History, Walk, feed_window, follow, start


def revoked(at: int, partner: str = "rmt") -> Change:
    return Change(position=at, partner=partner, change="revoked")


def added(at: int, partner: str = "rmt") -> Change:
    return Change(position=at, partner=partner, change="added")


def replayed(at: int, from_position: int | None, partner: str = "rmt") -> Change:
    return Change(position=at, partner=partner, change="replayed", from_position=from_position)


def delivered(events: range, changes: list[Change], begin: int = 0) -> list[int]:
    """What a webhook endpoint at ``begin`` is sent, in order, walking ``events`` (the
    log's positions) with the partner's ``changes`` on the log among them."""
    at = {c.position: c for c in changes}
    walk = start(Walk(position=begin), [c for c in changes if c.position <= begin])
    sent: list[int] = []
    end = events.stop - 1
    while True:
        if not walk.receiving:
            later = [c for c in changes if c.position > walk.applied]
            if not later:
                return sent
            walk = follow(walk, later[0])
            continue
        nxt = walk.position + 1
        if nxt > end:
            return sent
        if nxt in at and nxt > walk.applied:
            moved = follow(walk, at[nxt])
            if moved.position != walk.position or not moved.receiving:
                walk = moved
                continue
            walk = moved
        if nxt not in at or at[nxt].change != "revoked":
            sent.append(nxt)
        walk = Walk(position=nxt, revoked_at=walk.revoked_at, applied=walk.applied)


def test_a_partner_never_changed_receives_everything():
    assert delivered(range(1, 6), []) == [1, 2, 3, 4, 5]


def test_a_revocation_stops_delivery_at_it_and_nothing_after_is_sent():
    assert delivered(range(1, 10), [revoked(4)]) == [1, 2, 3]


def test_a_re_added_partner_gets_what_the_revocation_held_back_once():
    # Revoked at 4, re-added at 7: 5 and 6 were published while it was revoked; the NATS
    # side backfills them too. Nothing before the revocation comes a second time.
    assert delivered(range(1, 10), [revoked(4), added(7)]) == [1, 2, 3, 5, 6, 7, 8, 9]


def test_a_replay_after_a_revocation_resumes_from_its_position():
    assert delivered(range(1, 12), [revoked(4), replayed(8, 6)]) == [1, 2, 3, 6, 7, 8, 9, 10, 11]


def test_a_replay_from_before_sends_again_from_there_once():
    assert delivered(range(1, 8), [replayed(5, 2)]) == [1, 2, 3, 4, 2, 3, 4, 5, 6, 7]


def test_a_replay_back_over_a_revocation_never_sends_the_revocation():
    assert delivered(range(1, 9), [revoked(4), replayed(6, 2)]) == [1, 2, 3, 2, 3, 5, 6, 7, 8]


def test_an_add_while_receiving_changes_nothing():
    assert delivered(range(1, 6), [added(3)]) == [1, 2, 3, 4, 5]


def test_a_second_revocation_keeps_the_first():
    walk = follow(follow(Walk(position=3), revoked(4)), revoked(6))
    assert (walk.revoked_at, walk.applied, walk.position) == (4, 6, 4)


def test_an_endpoint_registered_after_a_revocation_waits_for_the_re_add():
    assert delivered(range(1, 10), [revoked(2)], begin=5) == []
    assert delivered(range(1, 10), [revoked(2), added(7)], begin=5) == [6, 7, 8, 9]


def test_a_change_already_applied_is_not_applied_again():
    walk = follow(Walk(position=6), replayed(6, 2))
    assert walk.position == 1
    assert follow(walk, replayed(6, 2)) == walk


def test_the_feed_stops_at_a_revocation_and_resumes_after_a_re_add():
    assert feed_window([]) == (1, None)
    assert feed_window([revoked(4)]) == (1, revoked(4))
    assert feed_window([revoked(4), added(7)]) == (1, None)
    assert feed_window([revoked(4), replayed(8, 6)]) == (6, None)
    assert feed_window([revoked(4), added(7), revoked(9)]) == (1, revoked(9))


def test_the_history_answers_by_position_and_keeps_each_change_once():
    history = History()
    for change in (added(7), revoked(4), revoked(4), revoked(5, partner="fbu")):
        history.add(change)
    assert history.of("rmt") == [revoked(4), added(7)]
    assert history.at("rmt", 6) == revoked(4)
    assert history.at("rmt", 3) is None
    assert history.next_after("rmt", 4) == added(7)
    assert history.revocation("rmt") is None
    assert history.revocation("fbu") == revoked(5, partner="fbu")
    assert history.is_revocation("rmt", 4) and not history.is_revocation("rmt", 7)
    assert not history.is_revocation("rmt", 5)
