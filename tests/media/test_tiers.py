"""A receiver's tier of the composite, moved by its bandwidth estimates (media/tiers.py)."""

from __future__ import annotations

from podium.media.tiers import (
    CONGESTED_FOR_S,
    LOSSY_AT_ONCE,
    LOSSY_SHARE,
    RETRY_FIRST_S,
    STALLED_FOR_S,
    TRIAL_S,
    TierChoice,
)

TIERS = ("high", "low")
#: The high tier's actual rate in these examples (bits/s).
HIGH_RATE = 1_000_000


def test_a_receiver_starts_on_the_high_tier_and_keeps_it_while_its_link_carries_it() -> None:
    choice = TierChoice(TIERS)
    assert choice.tier == "high"
    # A receive-side estimate hovers around (and up to 1.5x) what the receiver gets.
    for second, estimate in enumerate((950_000, 1_100_000, 1_400_000, 1_300_000)):
        assert choice.on_estimate(estimate, HIGH_RATE, float(second)) == "high"


def _congest(choice: TierChoice, at: float = 0.0) -> float:
    """Estimates of a link carrying 60 % of the high tier, until the receiver drops; when it did."""
    assert choice.on_estimate(600_000, HIGH_RATE, at) == "high"
    assert choice.on_estimate(510_000, HIGH_RATE, at + CONGESTED_FOR_S) == "low"
    return at + CONGESTED_FOR_S


def test_one_delay_spike_does_not_drop_a_receiver_whose_link_carries_the_tier() -> None:
    choice = TierChoice(TIERS)
    # After an overuse the estimate is 0.85x the throughput; then it climbs again.
    for second, estimate in enumerate((1_100_000, 850_000, 860_000, 870_000, 900_000)):
        assert choice.on_estimate(estimate, HIGH_RATE, float(second)) == "high"


def test_a_congested_link_drops_to_the_low_tier_and_tries_the_high_one_again_later() -> None:
    choice = TierChoice(TIERS)
    dropped = _congest(choice)
    # The low tier's estimate cannot rise above 1.5x the low tier: only time brings a new try.
    assert choice.on_estimate(500_000, 300_000, dropped + RETRY_FIRST_S - 1) == "low"
    assert choice.on_estimate(500_000, 300_000, dropped + RETRY_FIRST_S) == "high"


def test_a_try_that_meets_congestion_ends_at_once_and_the_next_waits_twice_as_long() -> None:
    choice = TierChoice(TIERS)
    start = _congest(choice) + RETRY_FIRST_S
    assert choice.on_estimate(450_000, 300_000, start) == "high"  # the try starts
    # Still low (it reflects the low tier) but rising: the try goes on.
    assert choice.on_estimate(480_000, HIGH_RATE, start + 1) == "high"
    # A falling estimate is the estimator's answer to overuse: back down.
    assert choice.on_estimate(400_000, HIGH_RATE, start + 2) == "low"
    back_down = start + 2
    assert choice.on_estimate(420_000, 300_000, back_down + 2 * RETRY_FIRST_S - 1) == "low"
    assert choice.on_estimate(420_000, 300_000, back_down + 2 * RETRY_FIRST_S) == "high"


def test_a_try_whose_estimate_stops_climbing_short_of_the_tier_ends_without_waiting_out_the_try() -> None:
    choice = TierChoice(TIERS)
    start = _congest(choice) + RETRY_FIRST_S
    assert choice.on_estimate(450_000, 300_000, start) == "high"
    # A capped link (or an estimator holding after overuse): the same low estimate, second after second.
    assert choice.on_estimate(500_000, HIGH_RATE, start + 1) == "high"
    assert choice.on_estimate(500_000, HIGH_RATE, start + 1 + STALLED_FOR_S - 0.5) == "high"
    assert choice.on_estimate(500_000, HIGH_RATE, start + 1 + STALLED_FOR_S) == "low"
    assert choice.retry_s == 2 * RETRY_FIRST_S


def test_a_try_that_holds_keeps_the_high_tier_and_resets_the_back_off() -> None:
    choice = TierChoice(TIERS)
    start = _congest(choice) + RETRY_FIRST_S
    choice.on_estimate(450_000, 300_000, start)
    estimate = 450_000
    for second in range(1, int(TRIAL_S) + 2):  # climbing ~8 %/s as an unconstrained estimator does
        estimate = int(estimate * 1.08)
        assert choice.on_estimate(estimate, HIGH_RATE, start + second) == "high"
    assert choice.retry_s == RETRY_FIRST_S
    # Congested later: down, and the next try comes after the first back-off again.
    dropped = _congest(choice, at=start + TRIAL_S + 10)
    assert choice.on_estimate(500_000, 300_000, dropped + RETRY_FIRST_S) == "high"


def test_a_receiver_capped_to_the_low_tier_never_gets_the_high_one() -> None:
    choice = TierChoice(TIERS, best=1)
    assert choice.tier == "low"
    for second in range(0, 400, 5):
        assert choice.on_estimate(5_000_000, 300_000, float(second)) == "low"


def test_an_unknown_rate_never_drops_a_receiver() -> None:
    choice = TierChoice(TIERS)
    assert choice.on_estimate(100_000, None, 0.0) == "high"


def test_a_resized_player_moves_at_once_and_estimates_go_on_from_there() -> None:
    choice = TierChoice(TIERS, best=1)  # a small embed
    choice.cap(0)  # full screen
    assert choice.tier == "high"
    dropped = _congest(choice, at=100.0)  # ...on a link that cannot carry it
    choice.cap(1)  # shrunk again: no tries of the high tier any more
    assert choice.on_estimate(5_000_000, 300_000, dropped + 10 * RETRY_FIRST_S) == "low"


def test_a_link_dropping_much_of_the_tier_moves_the_receiver_down_by_its_reports() -> None:
    # Reports about once a second; the estimate has not fallen yet (it takes seconds to).
    choice = TierChoice(TIERS)
    assert choice.on_loss(LOSSY_SHARE, 1.0) == "high"  # one lossy second may be a burst
    assert choice.on_loss(LOSSY_SHARE, 2.0) == "low"  # a second one is a link too small
    # A link carrying well under the tier's rate says so in one report.
    at_once = TierChoice(TIERS)
    assert at_once.on_loss(LOSSY_AT_ONCE, 1.0) == "low"
    # The back-off is as after an estimate's drop; the low tier's own losses move nothing.
    assert at_once.on_loss(0.9, 2.0) == "low"
    assert at_once.on_loss(0.0, 1.0 + RETRY_FIRST_S) == "high"
    # A try that loses as much ends at once, and the next waits twice as long.
    assert at_once.on_loss(LOSSY_AT_ONCE, 2.0 + RETRY_FIRST_S) == "low"
    assert at_once.on_loss(0.0, 2.0 + 3 * RETRY_FIRST_S - 0.1) == "low"
    assert at_once.on_loss(0.0, 2.0 + 3 * RETRY_FIRST_S) == "high"


def test_random_loss_that_a_lower_tier_would_not_cure_keeps_the_tier() -> None:
    choice = TierChoice(TIERS)
    # A 10 % lossy link, reports scattering around it; lossy reports not back to back.
    for second, fraction in enumerate((0.08, 0.12, 0.21, 0.1, 0.05, 0.22, 0.09, 0.15)):
        assert choice.on_loss(fraction, float(second)) == "high"
