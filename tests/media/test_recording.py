"""Recording an MCU room: the file holds everyone's video and audio in sync, and survives a crash.

Participants are real aiortc peers (tests/support/synthetic.py) in a room on ``podium serve``'s
own media node; the recording is fetched through the REST API and read back with PyAV.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import av
import numpy as np

from podium.media.outputs import KEYFRAME_EVERY
from tests.media.test_mcu_room import _composite_shows, _join, _media_node_pid
from tests.support.analysis import PALETTE, TONES_HZ, colours_present, tones_present
from tests.support.client import TenantClient
from tests.support.server import Node
from tests.support.synthetic import SyntheticParticipant

NAMES = list(PALETTE)
_T = TypeVar("_T")


async def _mcu_room(acme: TenantClient, people: list[SyntheticParticipant], count: int) -> str:
    room = str((await acme.room(media_mode="mcu"))["slug"])
    for index in range(count):
        people.append(await _join(acme, room, index, loud=True))
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    await asyncio.gather(*(_composite_shows(p, set(NAMES[:count])) for p in people))
    return room


async def wait_recording(
    acme: TenantClient, rec_id: str, states: set[str], within: float = 60
) -> dict[str, Any]:
    """Poll the recording until its state is one of ``states``."""
    deadline = time.monotonic() + within
    while True:
        reply = await acme.http.get(f"/recordings/{rec_id}")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, f"recording stayed {body['state']}: {body}"
        await asyncio.sleep(0.3)


async def download(acme: TenantClient, rec_id: str) -> Path:
    reply = await acme.http.get(f"/recordings/{rec_id}/download")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("video/mp4")
    path = Path(tempfile.mkdtemp(prefix="podium-rec-")) / f"{rec_id}.mp4"
    path.write_bytes(reply.content)
    return path


def read_recording(path: Path) -> tuple[list[av.VideoFrame], np.ndarray[Any, Any], float, float]:
    """Decoded video frames, the audio as mono samples, and each stream's first timestamp."""
    with av.open(str(path), mode="r") as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        frames = [f for f in container.decode(video=0)]
    with av.open(str(path), mode="r") as container:
        audio = [f for f in container.decode(audio=0)]
    # AAC decodes to floats in [-1, 1]: on the int16 scale the tone detector reads.
    samples = np.concatenate([f.to_ndarray().reshape(-1) * 32767 for f in audio]) if audio else np.zeros(0)
    return frames, samples, float(frames[0].time or 0), float(audio[0].time or 0) if audio else -1.0


async def _until(probe: Callable[[], _T | Literal[False]], within: float) -> _T:
    """Poll ``probe`` until it returns something true."""
    deadline = time.monotonic() + within
    while not (value := probe()):
        assert time.monotonic() < deadline, f"not within {within} s"
        await asyncio.sleep(0.2)
    return value


def _seconds_written(part: Path) -> float:
    """Seconds of video in a fragmented MP4 still being written (its complete fragments)."""
    stamps: list[float] = []
    try:
        with av.open(str(part), mode="r") as container:
            stream = container.streams.video[0]
            assert stream.time_base is not None
            stamps = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None]
    except (av.error.InvalidDataError, av.error.EOFError, IndexError):
        pass  # no complete fragment yet
    return stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0


async def test_an_mcu_room_recording_holds_everyone_in_sync(
    acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = await _mcu_room(acme, people, 3)
    requested = time.monotonic()
    started = await acme.http.post(f"/rooms/{room}/recordings")
    requested = time.monotonic() - requested
    assert started.status_code == 201, started.text
    rec_id = started.json()["id"]
    assert started.json()["state"] == "recording"
    # A second start is refused; everyone in the room sees it is being recorded.
    again = await acme.http.post(f"/rooms/{room}/recordings")
    assert again.status_code == 409 and again.json()["error"]["code"] == "recording_running"
    began = time.monotonic()
    await asyncio.sleep(10)
    asked = time.monotonic()
    stopped = await acme.http.post(f"/rooms/{room}/recordings/stop")
    wall = time.monotonic() - began
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] in ("processing", "ready")
    after = await acme.http.post(f"/rooms/{room}/recordings/stop")
    assert after.status_code == 409 and after.json()["error"]["code"] == "recording_not_running"

    ready = await wait_recording(acme, rec_id, {"ready", "failed"})
    assert ready["state"] == "ready", ready
    # The file covers the time between the two clicks: not more than from the start's request to
    # the stop's answer (a busy machine delays both answers), not less than they were apart, but
    # for the wait for the composite's first keyframe (up to 1.2 s at a load average of 21).
    clicks = asked - began
    # (Its packets are placed as the recorder takes them: up to 0.3 s past the stop's answer seen.)
    assert clicks - 2.0 < ready["duration"] < wall + requested + 1.0, (ready["duration"], clicks, wall)
    path = await download(acme, rec_id)
    assert ready["size"] == path.stat().st_size
    head = path.read_bytes()[:4096]
    assert b"moov" in head, "not a fast-start MP4: a player would have to read to the end first"
    # A keyframe every two seconds or so: a player seeks anywhere without decoding from the start.
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        keyframes = [
            float(packet.pts * stream.time_base)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        ]
    # Due every KEYFRAME_EVERY seconds, forced at the next composite: a tick stalled on a busy
    # machine may stretch one gap, never double it (without the forcing, gaps last to the next PLI).
    gaps = [b - a for a, b in itertools.pairwise(keyframes)]
    assert len(keyframes) >= 4 and max(gaps) < 2 * KEYFRAME_EVERY, keyframes

    frames, samples, video_start, audio_start = read_recording(path)
    # Five a second at least (fifteen on an idle machine; the composite slows on a busy one).
    assert len(frames) > 5 * ready["duration"], f"only {len(frames)} frames in {ready['duration']:.1f}s"
    middle = frames[len(frames) // 2]
    assert colours_present(middle, {n: PALETTE[n] for n in NAMES[:3]}) == set(NAMES[:3])
    # Sound for most of it (a starved mixer skips ticks rather than fall behind: 7.3 s of 10 seen).
    assert len(samples) > 48_000 * 0.6 * ready["duration"], (len(samples), ready["duration"])
    heard = tones_present(
        samples[48_000 * 4 : 48_000 * 6], 48_000, {n: TONES_HZ[i] for i, n in enumerate(NAMES[:3])}
    )
    assert heard == set(NAMES[:3])
    assert abs(video_start - audio_start) < 0.1, (video_start, audio_start)

    # Range requests: a player seeks by asking for bytes.
    part = await acme.http.get(f"/recordings/{rec_id}/download", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == path.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{path.stat().st_size}"
    thumb = await acme.http.get(f"/recordings/{rec_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    listed = await acme.http.get("/recordings", params={"room": room})
    assert [r["id"] for r in listed.json()["recordings"]] == [rec_id]

    deleted = await acme.http.delete(f"/recordings/{rec_id}")
    assert deleted.status_code == 204
    assert (await acme.http.get(f"/recordings/{rec_id}")).status_code == 404


async def test_a_recording_cut_short_by_a_dead_media_node_keeps_what_was_written(
    node: Node, acme: TenantClient, people: list[SyntheticParticipant]
) -> None:
    room = await _mcu_room(acme, people, 2)
    started = await acme.http.post(f"/rooms/{room}/recordings")
    assert started.status_code == 201, started.text
    rec_id = started.json()["id"]
    # Killed once the file on disk holds four seconds (by the clock, a busy machine writes late).
    (part,) = await _until(lambda: list(node.deployment.data_dir.glob(f"**/{rec_id}.part.mp4")), 30)
    written = await _until(lambda: (seconds := _seconds_written(part)) >= 4.0 and seconds, 60)
    os.kill(_media_node_pid(node), signal.SIGKILL)

    failed = await wait_recording(acme, rec_id, {"ready", "failed"})
    assert failed["state"] == "failed", failed
    assert "media node" in failed["error"]
    # Everything written before the kill is kept.
    assert written - 0.1 <= failed["duration"] < written + 3.0, (written, failed)
    frames, samples, _, _ = read_recording(await download(acme, rec_id))
    # Pictures and sound to the end: at least 5 fps (15 idle; 6-9 beside a benchmark), and sound
    # for most of it (a starved mixer skips ticks rather than fall behind: 3.4 s of 4.4 seen).
    assert len(frames) > 5 * written, (len(frames), written)
    assert len(samples) > 48_000 * 0.6 * written, (len(samples), written)
    # The room goes on, and can be recorded again.
    await asyncio.gather(*(p.wait_mcu_connected(30) for p in people))
    again = await acme.http.post(f"/rooms/{room}/recordings")
    assert again.status_code == 201, again.text
    await acme.http.post(f"/rooms/{room}/recordings/stop")
