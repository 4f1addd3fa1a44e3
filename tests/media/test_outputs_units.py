"""The recorder and the output timeline on their own: write errors are reported, clocks stay together."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from podium.core.outputs.files import finalize_recording
from podium.media.encoder import TierEncoder
from podium.media.fanout import Feed
from podium.media.mixer import FRAME_SAMPLES, OpusStream
from podium.media.recorder import Recorder
from podium.media.timeline import MAX_DRIFT, StreamClock


async def _publish(video: Feed, audio: Feed, seconds: float) -> None:
    """A real room's streams: H.264 at 15 fps (90 kHz pts) and the Opus mix every 20 ms."""
    encoder = TierEncoder("high", 320, 180, 300_000, 15, codec="h264")
    opus = OpusStream()
    frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), 90, np.uint8), format="rgb24")
    silence = np.zeros(FRAME_SAMPLES, np.int16)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for tick in range(int(seconds * 50)):
        audio.publish(opus.encode(silence, tick * FRAME_SAMPLES))
        if tick % 3 == 0:
            video.publish(encoder.encode(frame, tick * 1800, keyframe=tick == 0))
        # On the wall clock's 20 ms grid, as the mixer ticks: a slow tick does not push the rest.
        await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))


async def test_a_write_error_stops_the_recording_and_is_reported() -> None:
    video, audio = Feed("video", "h264"), Feed("audio", "opus")
    failures: list[str] = []
    # /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
    recorder = Recorder(Path("/dev/full"), video, audio, failures.append)
    recorder.start()
    await _publish(video, audio, 1.0)
    assert failures and "No space left" in failures[0], failures
    assert recorder.error == failures[0]
    assert not video.tracks and not audio.tracks  # it stopped following the room


async def test_a_recording_file_plays_while_it_is_still_being_written(tmp_path: Path) -> None:
    video, audio = Feed("video", "h264"), Feed("audio", "opus")
    recorder = Recorder(tmp_path / "live.mp4", video, audio, lambda message: None)
    recorder.start()
    await _publish(video, audio, 3.0)
    # Not stopped, as after a crash: the fragments so far decode, sound included.
    with av.open(str(tmp_path / "live.mp4"), mode="r") as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "opus"]
        frames = list(container.decode(video=0))
    assert len(frames) >= 20
    recorder.stop()


async def test_a_recording_finishes_as_a_fast_start_mp4_and_an_empty_one_as_no_media(tmp_path: Path) -> None:
    video, audio = Feed("video", "h264"), Feed("audio", "opus")
    recorder = Recorder(tmp_path / "rec.part.mp4", video, audio, lambda message: None)
    recorder.start()
    began = time.monotonic()
    await _publish(video, audio, 2.0)
    recorder.stop()
    wall = time.monotonic() - began
    facts = finalize_recording(tmp_path / "rec.part.mp4", tmp_path / "rec.mp4", tmp_path / "rec.jpg")
    # Packets are placed by when the recorder took them (``podium.media.timeline``): 2 s of media,
    # or as long as a busy machine took to send them, plus as late as the recorder took the first
    # (0.3 s seen at a load average of 21).
    assert 1.5 < facts.duration < max(2.5, wall + 1.0) and not facts.truncated, (facts, wall)
    assert b"moov" in (tmp_path / "rec.mp4").read_bytes()[:4096]  # the index is in front
    # The H.264 is copied; the Opus became AAC (QuickTime and older Safari play no Opus in MP4).
    with av.open(str(tmp_path / "rec.mp4"), mode="r") as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        seconds = sum(frame.samples for frame in container.decode(audio=0)) / 48_000
    # All of the 2 s of Opus that went in comes out as AAC, the last partial frame included
    # (not compared with the file's duration: that follows the wall clock on a busy machine).
    assert abs(seconds - 2.0) < 0.015, (seconds, facts)
    assert (tmp_path / "rec.jpg").read_bytes()[:2] == b"\xff\xd8"

    # Stopped before the composite's first keyframe: an empty file, nothing made of it.
    video, audio = Feed("video", "h264"), Feed("audio", "opus")
    empty = Recorder(tmp_path / "empty.part.mp4", video, audio, lambda message: None)
    empty.start()
    empty.stop()
    facts = finalize_recording(tmp_path / "empty.part.mp4", tmp_path / "empty.mp4", tmp_path / "empty.jpg")
    assert facts.duration == 0 and not (tmp_path / "empty.mp4").exists()


def test_a_stream_that_falls_behind_the_wall_clock_is_pulled_back() -> None:
    audio = StreamClock(origin=100.0, time_base=Fraction(1, 48_000))
    video = StreamClock(origin=100.0, time_base=Fraction(1, 90_000))
    # Five minutes in 20 ms steps; the audio clock loses 1 ms per second (a stalling mix loop).
    worst = 0.0
    for step in range(5 * 60 * 50):
        now = 100.0 + step * 0.02
        video_at = video.place(round(step * 0.02 * 90_000), now)
        audio_at = audio.place(round(step * 0.02 * 48_000 * 0.999), now)
        worst = max(worst, abs(video_at - audio_at))
    assert worst <= MAX_DRIFT + 0.001
    assert audio.reanchored > 0 and video.reanchored == 0
