"""The legal thresholds of an industrial action ballot (``services.domain.ballots``), at
their edges: half of those entitled to vote voting, and in important public services 40 %
of all of them voting yes. Computed from the counts in whole numbers, never sent by the
union."""

from __future__ import annotations

import msgspec
import pytest

from services.commands import RecordBallot
from services.domain.ballots import ImpossibleCount, tally


def test_exactly_half_turning_out_meets_the_turnout_threshold() -> None:
    assert tally(1000, 500, 400, False).turnout_met
    assert tally(1001, 501, 400, False).turnout_met  # 50.05 %


def test_one_vote_short_of_half_does_not() -> None:
    result = tally(1000, 499, 499, False)
    assert not result.turnout_met and not result.threshold_met
    assert not tally(1001, 500, 500, False).turnout_met  # 49.95 %: rounding never decides


def test_outside_important_public_services_the_support_threshold_does_not_apply() -> None:
    result = tally(1000, 500, 251, important_public_service=False)
    assert result.support_met and result.threshold_met and result.mandate


def test_in_important_public_services_exactly_40_percent_of_all_eligible_voting_yes_is_enough() -> None:
    result = tally(1000, 600, 400, important_public_service=True)
    assert (result.turnout_met, result.support_met, result.threshold_met) == (True, True, True)
    assert result.mandate


def test_one_yes_vote_short_of_40_percent_of_all_eligible_fails_the_support_threshold() -> None:
    result = tally(1000, 600, 399, important_public_service=True)
    assert result.turnout_met and result.majority
    assert not result.support_met and not result.threshold_met and not result.mandate


def test_the_support_threshold_counts_every_member_entitled_not_only_those_voting() -> None:
    # 90 % yes on a 50 % turnout is 45 % of all eligible: met; on 50 % yes it is 25 %: not met
    assert tally(10_000, 5_000, 4_500, True).support_met
    assert not tally(10_000, 5_000, 2_500, True).support_met


def test_a_majority_means_more_yes_than_not() -> None:
    assert not tally(100, 60, 30, False).majority  # a tie is no majority
    assert tally(100, 60, 31, False).majority
    assert not tally(100, 60, 30, False).mandate and tally(100, 60, 31, False).mandate


def test_turnout_and_yes_share_are_fractions_of_the_counts() -> None:
    result = tally(4000, 2600, 2300, True)
    assert result.turnout == 0.65
    assert result.yes_share == 2300 / 2600
    assert tally(100, 0, 0, False).yes_share == 0.0  # nobody voted: no share, no division by zero


@pytest.mark.parametrize(("eligible", "cast", "yes", "field"), [
    (0, 0, 0, "eligible"),
    (100, 101, 50, "votes_cast"),
    (100, 60, 61, "yes_votes"),
])
def test_counts_that_cannot_all_be_true_are_refused_naming_the_field(eligible: int, cast: int, yes: int,
                                                                        field: str) -> None:
    with pytest.raises(ImpossibleCount) as refused:
        tally(eligible, cast, yes, False)
    assert refused.value.field == field and f"`{field}`" in str(refused.value)


def test_the_command_refuses_impossible_counts_as_it_is_decoded() -> None:
    body = {"employer": "Example Rail Ltd", "eligible": 100, "votes_cast": 120, "yes_votes": 10,
            "refs": ["9b0d6f2e-0000-4000-8000-000000000001"]}
    with pytest.raises(msgspec.ValidationError, match="`votes_cast`"):
        msgspec.json.decode(msgspec.json.encode(body), type=RecordBallot)


def test_the_command_takes_no_result_from_the_client() -> None:
    body = {"employer": "Example Rail Ltd", "eligible": 100, "votes_cast": 60, "yes_votes": 50,
            "threshold_met": True, "refs": ["9b0d6f2e-0000-4000-8000-000000000001"]}
    with pytest.raises(msgspec.ValidationError, match="threshold_met"):
        msgspec.json.decode(msgspec.json.encode(body), type=RecordBallot)
