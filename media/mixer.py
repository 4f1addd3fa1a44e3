"""The MCU's audio mixer: every 20 ms, the top-K loudest speakers mixed, Opus-encoded.

Only the K loudest are mixed. Each of them hears the mix without their own voice
(a "mix-minus", one encoder each); everyone else shares ONE encoded mix, so the
encoding cost is K+1 Opus encodes per tick whatever the room size (plus one for
each speaker just out of the top K, who keeps its own encoder until its level has
faded, so its stream never jumps between encoders). Dominant speaker detection
rides on the same levels.

In-band FEC: each Opus packet of the shared mix also carries a coarse copy of
the previous frame, so a browser that loses one packet plays that copy instead
of a gap (libopus's LBRR; browsers decode it). libopus only makes it in its
SILK/hybrid modes, so FEC costs ~2.2x the CPU of an encode without it (about 250
against 110 µs per 20 ms of speech on this machine): the shared mix always has
it (one encode per tick, heard by most); a mix-minus gets it when its listener
reports loss (``fec_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

__all__ = ["FRAME_SAMPLES", "SAMPLE_RATE", "AudioMixer", "MixResult", "OpusStream"]

SAMPLE_RATE = 48_000
#: 20 ms at 48 kHz.
FRAME_SAMPLES = 960
#: RMS (of int16 samples) below which a participant counts as silent (about -50 dBFS).
SILENCE_RMS = 100.0
#: How fast the speaker levels follow the signal (per tick), and how much louder someone
#: must be to take the dominant-speaker role from the current one.
_SMOOTHING = 0.85
_TAKEOVER = 1.4
#: The loss libopus is told to expect when it adds FEC: how much of each packet the copy gets.
#: (At 5 % and 32 kbit/s, libopus 1.6 judges it not worth it and adds none to most packets.)
FEC_EXPECTED_LOSS = 10

Samples = npt.NDArray[np.int16]


class OpusStream:
    """One Opus encoder with continuous timestamps (pts in samples at 48 kHz); ``fec``: each
    packet also carries the previous frame, for a receiver that lost it."""

    def __init__(self, bitrate: int = 32_000, fec: bool = False) -> None:
        self.fec = fec
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.sample_rate = SAMPLE_RATE
        self.codec.layout = "mono"
        self.codec.format = "s16"
        self.codec.bit_rate = bitrate
        self.codec.time_base = Fraction(1, SAMPLE_RATE)
        if fec:
            self.codec.options = {"fec": "1", "packet_loss": str(FEC_EXPECTED_LOSS)}

    def encode(self, samples: Samples, pts: int) -> list[av.Packet[Any]]:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        packets = list(self.codec.encode(frame))
        for packet in packets:
            packet.time_base = self.codec.time_base
        return packets


@dataclass
class MixResult:
    """One tick's output: the shared mix's packets, the mix-minus packets, who is mixed."""

    shared: list[av.Packet[Any]]
    personal: dict[str, list[av.Packet[Any]]]
    mixed: list[str]
    levels: dict[str, float] = field(default_factory=dict)
    #: The shared mix itself, before encoding.
    samples: Samples | None = None


class AudioMixer:
    """Mixes the top ``k`` speakers; call ``tick`` every 20 ms with each participant's frame."""

    def __init__(
        self, k: int = 3, bitrate: int = 32_000, fec_for: Callable[[str], bool] | None = None
    ) -> None:
        self.k = k
        self.bitrate = bitrate
        self.shared = OpusStream(bitrate, fec=True)
        #: Whether a listener's own mix should carry FEC (their downlink loses packets).
        self.fec_for = fec_for or (lambda _pid: False)
        self.personal: dict[str, OpusStream] = {}
        self.levels: dict[str, float] = {}
        self.dominant: str | None = None
        self.pts = 0

    def tick(self, frames: Mapping[str, Samples | None], encode: bool = True) -> MixResult:
        """Mix one 20 ms frame per participant (``None``: nothing arrived, silence).

        ``encode=False`` returns the raw shared mix only (the naive benchmark baseline encodes
        it once per connection instead)."""
        loud: list[tuple[float, str]] = []
        for pid, samples in frames.items():
            rms = 0.0 if samples is None else float(np.sqrt(np.mean(samples.astype(np.float32) ** 2)))
            self.levels[pid] = self.levels.get(pid, 0.0) * _SMOOTHING + rms * (1 - _SMOOTHING)
            if samples is not None and rms >= SILENCE_RMS:
                loud.append((rms, pid))
        for gone in self.levels.keys() - frames.keys():
            del self.levels[gone]
        loud.sort(reverse=True)
        mixed = [pid for _, pid in loud[: self.k]]

        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for pid in mixed:
            total += frames[pid]  # type: ignore[arg-type]
        mix = np.clip(total, -32768, 32767).astype(np.int16)
        if not encode:
            self.pts += FRAME_SAMPLES
            return MixResult(shared=[], personal={}, mixed=mixed, levels=dict(self.levels), samples=mix)
        shared = self.shared.encode(mix, self.pts)
        personal: dict[str, list[av.Packet[Any]]] = {}
        for pid in mixed:
            stream = self.personal.get(pid)
            if stream is None or (not stream.fec and self.fec_for(pid)):
                # A listener whose link turns lossy gets a fresh encoder with FEC (and keeps it).
                stream = self.personal[pid] = OpusStream(self.bitrate, fec=self.fec_for(pid))
            minus = np.clip(total - frames[pid], -32768, 32767).astype(np.int16)  # type: ignore[operator]
            personal[pid] = stream.encode(minus, self.pts)
        # A recent speaker left out of this tick (a lost or late packet, a pause for breath) keeps
        # its own encoder, fed the mix (which lacks its voice): switching it to the shared stream
        # for one tick would hand its decoder another encoder's packets mid-stream (a click, and
        # two frames concealed per uplink loss).
        for pid, stream in self.personal.items():
            if pid not in personal and pid in frames and self.levels.get(pid, 0.0) >= SILENCE_RMS / 4:
                personal[pid] = stream.encode(mix, self.pts)
        # An encoder idle for a while is dropped; a returning speaker gets a fresh one.
        for pid in [p for p in self.personal if p not in mixed and self.levels.get(p, 0.0) < SILENCE_RMS / 4]:
            del self.personal[pid]
        self.pts += FRAME_SAMPLES
        return MixResult(shared=shared, personal=personal, mixed=mixed, levels=dict(self.levels), samples=mix)

    def dominant_speaker(self) -> str | None:
        """The current dominant speaker, with hysteresis so two talkers don't flap."""
        best = max(self.levels.items(), key=lambda item: item[1], default=None)
        current = self.levels.get(self.dominant, 0.0) if self.dominant else 0.0
        if best is None or best[1] < SILENCE_RMS / 2:
            if current < SILENCE_RMS / 4:
                self.dominant = None
            return self.dominant
        if self.dominant is None or current < SILENCE_RMS / 4 or best[1] > current * _TAKEOVER:
            self.dominant = best[0]
        return self.dominant

    def forget(self, participant_id: str) -> None:
        self.levels.pop(participant_id, None)
        self.personal.pop(participant_id, None)
        if self.dominant == participant_id:
            self.dominant = None
