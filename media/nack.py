"""Which lost video packets to ask for again (RTCP NACK), when, and when to give up on them.

aiortc's receiver NACKs a gap once, when it appears, and waits for it forever:
one lost NACK or retransmission and the frame never completes. Browsers ask
again until it is too late to matter. This schedule does the same for a video
receive buffer (``podium.media.jitter``):

- a new gap is NACKed at once;
- a packet still missing is NACKed again every ``max(MIN_RETRY_S, last
  retransmission delay)``, ``MAX_NACKS`` times in all;
- it is given up ``GIVE_UP_S`` after it went missing, or at once when the sender
  can no longer have it: ``SENDER_HISTORY`` packets or more have been sent since
  (aiortc keeps 128; browsers more). The buffer then drops what depends on it and
  asks for a keyframe.

The retransmission delay is measured from the first NACK. When that NACK or its answer
was lost, the delay includes the retries: the next retries are only more patient for it.
(Measuring only packets NACKed once, Karn's rule, would never see a round trip longer
than the first retry, and would ask three times for every packet on such a link.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GIVE_UP_S", "MAX_NACKS", "MIN_RETRY_S", "SENDER_HISTORY", "NackSchedule"]

#: A missing packet is NACKed this many times at most (the first when the gap appears): at 5 %
#: loss both ways a tenth of the tries fail, so three left one packet in 1000 unrepaired (a
#: freeze every 30-60 s at 720p), five one in 100,000 (libwebrtc tries up to 10).
MAX_NACKS = 5
#: Retries are at least this far apart (longer when retransmissions take longer).
MIN_RETRY_S = 0.1
#: A packet missing this long is given up: waiting longer freezes the picture more than a
#: keyframe request does.
GIVE_UP_S = 0.5
#: Packets a sender keeps for retransmission (aiortc's ``RTP_HISTORY_SIZE``; browsers keep more).
SENDER_HISTORY = 128
#: A timer may fire this much early (the event loop runs what falls due within its resolution).
_EARLY_S = 0.001


@dataclass
class _Missing:
    since: float
    nacks: int = 0
    nacked_at: float = 0.0


class NackSchedule:
    """The missing packets of one stream, by extended (unwrapped) sequence number."""

    def __init__(self) -> None:
        self.missing: dict[int, _Missing] = {}
        #: The last measured NACK-to-retransmission delay (seconds), None until one is measured.
        self.rtx_delay: float | None = None
        self._next_retry: float | None = None

    @property
    def retry_s(self) -> float:
        """How long to wait for a retransmission before asking again."""
        return max(MIN_RETRY_S, self.rtx_delay or 0.0)

    def gap(self, first: int, last: int, now: float) -> list[int]:
        """Packets ``first..last`` went missing now: the ones to NACK at once."""
        for seq in range(first, last + 1):
            self.missing[seq] = _Missing(since=now, nacks=1, nacked_at=now)
        self._plan(now + self.retry_s)
        return list(range(first, last + 1))

    def arrived(self, seq: int, now: float) -> bool:
        """A packet came in; True when it was one of the missing (a retransmission, or late)."""
        entry = self.missing.pop(seq, None)
        if entry is None:
            return False
        self.rtx_delay = now - entry.since  # asked for when it went missing
        return True

    def due(self, now: float) -> list[int]:
        """Packets to NACK again now (each is counted as asked for)."""
        if self._next_retry is None or now < self._next_retry:
            return []
        retry = self.retry_s
        asking = []
        self._next_retry = None
        for seq, entry in self.missing.items():
            if entry.nacks >= MAX_NACKS:
                continue
            if now + _EARLY_S >= entry.nacked_at + retry:
                entry.nacks += 1
                entry.nacked_at = now
                asking.append(seq)
            if entry.nacks < MAX_NACKS:
                self._plan(entry.nacked_at + retry)
        return asking

    def expired(self, seq: int, now: float, highest: int) -> bool:
        """Whether a missing packet is beyond hope (too old, or out of the sender's history)."""
        entry = self.missing.get(seq)
        return entry is None or now + _EARLY_S >= entry.since + GIVE_UP_S or highest - seq >= SENDER_HISTORY

    def forget_before(self, seq: int) -> None:
        """Stop asking for packets older than ``seq`` (the buffer moved past them)."""
        for old in [s for s in self.missing if s < seq]:
            del self.missing[old]

    def clear(self) -> None:
        self.missing.clear()
        self._next_retry = None

    def next_wake(self) -> float | None:
        """When something is next due: a retry, or the oldest missing packet's deadline."""
        if not self.missing:
            return None
        deadline = min(entry.since for entry in self.missing.values()) + GIVE_UP_S
        return deadline if self._next_retry is None else min(deadline, self._next_retry)

    def _plan(self, at: float) -> None:
        if self._next_retry is None or at < self._next_retry:
            self._next_retry = at
