"""Which quality tier of the composite a receiver gets, from its bandwidth estimates (REMB).

A receive-side estimate (aiortc's and Chrome's alike) never climbs above 1.5x
what the receiver is getting now, so a receiver on the 360p tier can never show
that it could take 720p: choosing the tier by the estimate alone strands
everyone on the low tier. Instead a receiver starts on the high tier, drops to
the low one when its estimate says its link cannot carry the high tier's actual
rate for a while, and tries the high tier again after a back-off that doubles with each
failed try (as an SFU probes up, with the tier itself as the probe).

During a try the estimate still reflects the low tier's rate and climbs ~8 %/s,
so only a *falling* estimate (the estimator's answer to overuse) or one that has
stopped climbing while still too low (an estimator holding after overuse, a
capped link) ends it early.

A capped link announces itself sooner by what it drops than by the estimate, which
needs seconds to fall (a receiver on 500 kbit/s froze 5-7 s on the 720p tier): a
receiver report that loses ``LOSSY_SHARE`` of the tier's packets twice in a row (or
``LOSSY_AT_ONCE`` once) drops the receiver at once, and ends a try. Random loss of a
few percent, which a lower tier would not cure, stays under it.

A receiver may also cap its tier (``max_height``: a small player in an embed, a
phone): it never gets a tier taller than that, whatever its link.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONGESTED_FOR_S",
    "CONGESTED_SHARE",
    "LOSSY_AT_ONCE",
    "LOSSY_SHARE",
    "RETRY_FIRST_S",
    "RETRY_MAX_S",
    "STALLED_FOR_S",
    "TRIAL_S",
    "TierChoice",
]

#: An estimate below this share of the tier's actual rate: the link cannot carry the tier. (After
#: an overuse the estimate is 0.85x the throughput: a link that carries the tier but had one
#: delay spike stays above this; one that carries under ~88 % of it falls below.)
CONGESTED_SHARE = 0.75
#: ...for this long (estimates come in bursts when the receiver stalls): then the receiver drops.
CONGESTED_FOR_S = 1.5
#: A try of the high tier lasts this long before a low estimate alone (not falling) ends it.
TRIAL_S = 20.0
#: ...unless the estimate, still too low, has not risen for this long: it will not get there.
STALLED_FOR_S = 3.0
#: A receiver report losing this share of the tier's packets, twice running, drops the receiver...
LOSSY_SHARE = 0.2
#: ...and one losing this share drops it at once (a link carrying well under the tier's rate).
LOSSY_AT_ONCE = 0.4
#: Seconds on the low tier before the first try of the high one; doubled by each failed try.
RETRY_FIRST_S = 10.0
RETRY_MAX_S = 160.0


@dataclass
class TierChoice:
    """One receiver's tier, moved by its estimates. Tiers are named best first (``("high", "low")``)."""

    tiers: tuple[str, ...]
    #: The best tier the receiver accepts (its ``max_height``); lower tiers are always allowed.
    best: int = 0
    current: int = 0
    retry_s: float = RETRY_FIRST_S
    retry_at: float | None = None
    trial_until: float = 0.0
    last_estimate: int | None = None
    congested_since: float | None = None
    #: Whether the last receiver report lost at least ``LOSSY_SHARE``.
    lossy: bool = False
    #: The highest estimate of the current try, and when it came.
    trial_peak: int = 0
    trial_peak_at: float = 0.0

    def __post_init__(self) -> None:
        self.best = min(self.best, len(self.tiers) - 1)
        self.current = self.best

    def cap(self, best: int) -> None:
        """The receiver now accepts tiers from ``best`` down (its player was resized): go there
        at once, up or down; estimates move it from there as usual."""
        self.best = self.current = min(best, len(self.tiers) - 1)
        self.retry_at = None
        self.trial_until = 0.0
        self.congested_since = None
        self.lossy = False

    @property
    def tier(self) -> str:
        """The tier the receiver should follow now."""
        return self.tiers[self.current]

    def on_estimate(self, estimate_bps: int, rate_bps: float | None, now: float) -> str:
        """A REMB arrived; ``rate_bps`` is the current tier's actual rate (None: not known yet)."""
        falling = self.last_estimate is not None and estimate_bps < self.last_estimate
        self.last_estimate = estimate_bps
        lowest = len(self.tiers) - 1
        trial = now < self.trial_until
        if trial and estimate_bps > self.trial_peak:
            self.trial_peak, self.trial_peak_at = estimate_bps, now
        stalled = trial and now - self.trial_peak_at >= STALLED_FOR_S
        if self.current < lowest:
            congested = rate_bps is not None and estimate_bps < CONGESTED_SHARE * rate_bps
            if not congested:
                self.congested_since = None
            elif self.congested_since is None:
                self.congested_since = now
            lasting = self.congested_since is not None and now - self.congested_since >= CONGESTED_FOR_S
            if (trial and congested and (falling or stalled)) or (not trial and lasting):
                self._drop(now)
            elif self.trial_until and not trial:  # a try that held: the next drop starts afresh
                self.retry_s = RETRY_FIRST_S
                self.trial_until = 0.0
        self._maybe_try(now)
        return self.tier

    def on_loss(self, fraction: float, now: float) -> str:
        """A receiver report on the current tier arrived, losing ``fraction`` (0..1) of its packets."""
        lossy = fraction >= LOSSY_SHARE
        if self.current < len(self.tiers) - 1 and (fraction >= LOSSY_AT_ONCE or (lossy and self.lossy)):
            self._drop(now)
            lossy = False  # the next report covers the drop: start counting afresh
        self.lossy = lossy
        self._maybe_try(now)
        return self.tier

    def _drop(self, now: float) -> None:
        if now < self.trial_until:
            self.retry_s = min(2 * self.retry_s, RETRY_MAX_S)
        self.current += 1
        self.retry_at = now + self.retry_s
        self.trial_until = 0.0
        self.congested_since = None

    def _maybe_try(self, now: float) -> None:
        if self.current > self.best and self.retry_at is not None and now >= self.retry_at:
            self.current -= 1
            self.trial_until = now + TRIAL_S
            self.trial_peak, self.trial_peak_at = 0, now
            self.retry_at = None
            self.lossy = False
