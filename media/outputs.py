"""A media node's outputs: recordings, HLS and RTMP, per room, started and stopped by core.

Each output has a name core chooses (unique per room) and reports its state with
``output`` events: ``active`` once writing, ``retrying`` while an RTMP destination is
unreachable, ``failed`` with a message (a write error, disk full), ``stopped``.
Recordings mux the composite's H.264 packets and the Opus mix (``recorder.Recorder``);
HLS and RTMP mux the same H.264 packets and share one Opus-to-AAC transcode per room
(``live.LiveStream``), made when the first of them starts and dropped with the last.
While any of them runs, the feed makes a keyframe at least every two seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from podium.media import control
from podium.media.encoder import TIERS
from podium.media.fanout import Feed
from podium.media.live import HLS_SEGMENT_SECONDS, LiveStream
from podium.media.recorder import Recorder
from podium.media.session import MediaError, RoomSession, feed_name

__all__ = ["NodeOutputs"]

#: Recordings and live outputs take the high tier in H.264: the best picture the room makes,
#: in the codec MP4, FLV and HLS players take.
_FEED = feed_name(TIERS[0].name, "h264")
#: A keyframe at least this often: a segment (HLS) or a seek (recordings) starts on one.
KEYFRAME_EVERY = float(HLS_SEGMENT_SECONDS)
#: The live stream's key in ``Feed.keyframe_every`` (output names never start with "@").
_LIVE = "@live"


@dataclass
class _RoomOutputs:
    recordings: dict[str, Recorder] = field(default_factory=dict)
    live: LiveStream | None = None
    #: The feed the outputs follow (its ``keyframe_every`` holds theirs).
    video: Feed | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    #: Every output's kind, kept after it stops, for the threads' late reports.
    labels: dict[str, str] = field(default_factory=dict)


class NodeOutputs:
    """Every room's outputs on this node; ``emit`` sends an event to the room's owner."""

    def __init__(self, emit: Callable[[str, control.OutputStatus], None]) -> None:
        self.rooms: dict[str, _RoomOutputs] = {}
        self.emit = emit

    def count(self, key: str) -> int:
        outputs = self.rooms.get(key)
        return len(outputs.kinds) if outputs else 0

    def _report(self, key: str, name: str, kind: str, state: str, message: str = "", **values: float) -> None:
        status = control.OutputStatus(
            room=key,
            output=name,
            kind=kind,
            state=state,
            message=message,
            seconds=values.get("seconds", 0.0),
            bytes=int(values.get("bytes", 0)),
        )
        self.emit(key, status)

    def start(self, session: RoomSession, request: control.StartOutput) -> None:
        outputs = self.rooms.setdefault(session.key, _RoomOutputs())
        outputs.video = session.video_feeds[_FEED]
        if request.output in outputs.kinds:
            raise MediaError("output_exists", f"output {request.output!r} is already running in this room")
        outputs.labels[request.output] = request.kind
        if request.kind == "recording":
            self._start_recording(session, outputs, request)
        else:
            self._start_live(session, outputs, request)
        outputs.kinds[request.output] = outputs.labels[request.output] = request.kind

    def _start_recording(
        self, session: RoomSession, outputs: _RoomOutputs, request: control.StartOutput
    ) -> None:
        key, name = session.key, request.output
        loop = asyncio.get_running_loop()

        def failed(message: str) -> None:
            recorder = outputs.recordings.pop(name, None)
            outputs.kinds.pop(name, None)
            if outputs.video is not None:
                outputs.video.keyframe_every.pop(name, None)
            seconds = recorder.seconds if recorder else 0.0
            size = recorder.bytes_written if recorder else 0
            loop.call_soon(
                lambda: self._report(key, name, "recording", "failed", message, seconds=seconds, bytes=size)
            )

        recorder = Recorder(Path(request.target), session.video_feeds[_FEED], session.shared_audio, failed)
        try:
            recorder.start()
        except OSError as exc:
            raise MediaError("output_failed", f"could not create the recording file: {exc}") from exc
        outputs.recordings[name] = recorder
        session.video_feeds[_FEED].keyframe_every[name] = KEYFRAME_EVERY
        self._report(key, name, "recording", "active")

    def _start_live(self, session: RoomSession, outputs: _RoomOutputs, request: control.StartOutput) -> None:
        key = session.key
        loop = asyncio.get_running_loop()
        if outputs.live is None:

            def report(name: str, state: str, message: str) -> None:
                # Called from encoder and RTMP threads.
                kind = outputs.labels.get(name, "rtmp")
                loop.call_soon_threadsafe(self._report, key, name, kind, state, message)

            live = LiveStream(session.video_feeds[_FEED], session.shared_audio, report)
            live.start()
            session.video_feeds[_FEED].keyframe_every[_LIVE] = KEYFRAME_EVERY
            outputs.live = live
        if request.kind == "hls":
            if any(kind == "hls" for kind in outputs.kinds.values()):
                raise MediaError("output_exists", "this room already has an HLS output")
            try:
                outputs.live.add_hls(request.output, Path(request.target))
            except OSError as exc:
                raise MediaError("output_failed", f"could not create the HLS directory: {exc}") from exc
        else:
            outputs.live.add_rtmp(request.output, request.target)

    async def stop(self, key: str, name: str) -> dict[str, float]:
        """Stop one output; a recording's file is finished first (``seconds``, ``bytes``)."""
        outputs = self.rooms.get(key)
        kind = outputs.kinds.pop(name, None) if outputs else None
        if outputs is None or kind is None:
            raise MediaError("output_not_found", f"no output {name!r} is running in this room")
        if kind == "recording":
            recorder = outputs.recordings.pop(name)
            if outputs.video is not None:
                outputs.video.keyframe_every.pop(name, None)
            recorder.detach()  # here, on the loop that publishes to the feeds
            try:
                await asyncio.to_thread(recorder.stop)
            except Exception as exc:
                self._report(key, name, kind, "failed", str(exc), seconds=recorder.seconds)
                raise MediaError("output_failed", str(exc)) from exc
            stats = {"seconds": recorder.seconds, "bytes": float(recorder.bytes_written)}
            self._report(key, name, kind, "stopped", seconds=stats["seconds"], bytes=stats["bytes"])
            return stats
        assert outputs.live is not None
        outputs.live.remove(name)
        if not any(k != "recording" for k in outputs.kinds.values()):
            live, outputs.live = outputs.live, None
            if outputs.video is not None:
                outputs.video.keyframe_every.pop(_LIVE, None)
            live.detach()
            await asyncio.to_thread(live.stop)
        return {}

    async def close_room(self, key: str) -> None:
        """The room's session is closing: stop everything it feeds."""
        outputs = self.rooms.get(key)
        if outputs is None:
            return
        for name in list(outputs.kinds):
            with contextlib.suppress(MediaError):
                await self.stop(key, name)
        self.rooms.pop(key, None)
