"""A real Chromium in a crowded MCU room: ``bench/mcu.py --browser`` (issue 16).

The synthetic participants stand in for a crowd; this checks that a browser among them
gets what a person would: the composite playing (Chromium's own decoder, at the rate the
node makes it), the mix audible, and, when it speaks, its camera on the composite for
the others (the node names it the speaker and tells its page to send video again: it
joined off the composite, the newest of the crowd).

Chromium's fake microphone plays a tone the bench writes (``--use-file-for-fake-audio-capture``),
6 dB louder than the synthetic speakers' so that it takes the floor; its fake camera is
Chromium's own test pattern.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import async_playwright

from tests.support.browser import CHROMIUM_ARGS, BrowserParticipant, eventually, require_chromium
from tests.support.client import TenantClient
from tests.support.tracks import DEFAULT_AMPLITUDE

__all__ = ["browser_in_room"]

#: The page's view of its MCU connection: the composite and mix coming in, its camera going up.
_STATS = """async () => {
  const mcu = window.podium.mcu;
  const pc = mcu.pc;
  const state = window.podium.store.getState();
  const out = { connected: !!pc && pc.connectionState === 'connected', sendVideo: mcu.sendVideo,
                speaker: state.media.speaker, video: null, audio: null, framesSent: 0 };
  if (!pc) return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video')
      out.video = { framesDecoded: s.framesDecoded || 0, frameHeight: s.frameHeight || 0,
                    totalFreezesDuration: s.totalFreezesDuration || 0 };
    if (s.type === 'inbound-rtp' && s.kind === 'audio')
      out.audio = { totalAudioEnergy: s.totalAudioEnergy || 0,
                    totalSamplesReceived: s.totalSamplesReceived || 0 };
  });
  if (mcu.senders.video)
    (await mcu.senders.video.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') out.framesSent = s.framesSent || 0;
    });
  return out;
}"""


def _tone_file(folder: Path, hz: float = 587.0, seconds: int = 10) -> Path:
    """A 48 kHz mono WAV of a steady tone, 6 dB over a loud synthetic speaker (Chromium loops it)."""
    rate = 48_000
    amplitude = min(0.9, 2 * DEFAULT_AMPLITUDE)
    t = np.arange(rate * seconds) / rate
    samples = (amplitude * 32767 * np.sin(2 * math.pi * hz * t)).astype("<i2")
    path = folder / "speech.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


async def browser_in_room(
    base: str, secret: str, tenant: str, room: str, identity: str, join_after_s: float, seconds: float
) -> dict[str, Any]:
    """Join ``room`` in Chromium ``join_after_s`` from now, measure ``seconds``; the figures."""
    await asyncio.sleep(join_after_s)
    client = TenantClient(base, base.replace("http", "ws", 1), tenant, "", secret)
    with tempfile.TemporaryDirectory(prefix="podium-bench-chromium-") as tmp:
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={_tone_file(Path(tmp))}"]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(require_chromium()), args=args, timeout=60_000
            )
            try:
                person = await BrowserParticipant.open(browser, client, room, identity, "attendee")
                await person.enter()
                joined = time.monotonic()
                first = await eventually(
                    lambda: person.page.evaluate(_STATS),
                    lambda s: bool(s["connected"] and s["video"] and s["video"]["framesDecoded"] > 0),
                    "the composite playing in Chromium",
                    timeout=90,
                )
                shown_at = time.monotonic() - joined
                spoke = await eventually(
                    lambda: person.page.evaluate(_STATS),
                    lambda s: s["speaker"] == identity and s["sendVideo"] and s["framesSent"] > 0,
                    "Chromium named the speaker and sending its camera",
                    timeout=60,
                )
                seen_at = time.monotonic() - joined
                start, t0 = spoke, time.monotonic()
                await asyncio.sleep(seconds)
                end, t1 = await person.page.evaluate(_STATS), time.monotonic()
                await browser.close()
            finally:
                await client.close()
    span = t1 - t0
    energy = end["audio"]["totalAudioEnergy"] - start["audio"]["totalAudioEnergy"]
    heard_s = (end["audio"]["totalSamplesReceived"] - start["audio"]["totalSamplesReceived"]) / 48_000
    return {
        "composite_after_s": round(shown_at, 1),
        "speaker_after_s": round(seen_at, 1),
        "composite_fps": round((end["video"]["framesDecoded"] - start["video"]["framesDecoded"]) / span, 1),
        "composite_height": end["video"]["frameHeight"],
        "frozen_s": round(end["video"]["totalFreezesDuration"] - start["video"]["totalFreezesDuration"], 2),
        # Mean power of what played, as dBFS: the synthetic speakers' tones in the mix.
        "mix_dbfs": round(10 * math.log10(energy / heard_s), 1) if energy > 0 and heard_s > 0 else None,
        "camera_fps_sent": round((end["framesSent"] - start["framesSent"]) / span, 1),
        "still_speaker": end["speaker"] == identity,
        "first_video_frames": first["video"]["framesDecoded"],
    }
