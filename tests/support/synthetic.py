"""Synthetic participants: aiortc clients that join a room and talk to the MCU like a browser would.

A ``SyntheticParticipant`` joins over the realtime WebSocket (a ``Member`` from
``tests.support.client``) and, while the room's media mode is ``mcu``, keeps one
peer connection to the media server: it offers (``media.offer``), applies the
``media.answer``, offers again after ``media.failed``, pauses its camera while
``media.visible`` says it is off the composite, and closes the connection when the
room goes back to ``p2p``. It does **not** take part in the peer-to-peer mesh
(it ignores ``rtc.signal``): in a p2p room it only holds its WebSocket.

What it sends is made to be recognised after the MCU has mixed it: a solid colour
per participant with the wall-clock time drawn on it (``ColourVideoTrack``; the
block format is in ``tests.support.analysis``) and a sine at a frequency of its
own (``ToneAudioTrack``; both in ``tests.support.tracks``). What it receives is recorded: the composite video
(``VideoRecorder``) and the last seconds of its audio mix (``AudioRecorder``).

ICE uses host candidates only unless asked otherwise: the test servers advertise
STUN and TURN addresses where nothing listens, and gathering against them would
only add timeouts to every offer on a single machine.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import av
import numpy as np
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import get_decoder, get_encoder, is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RtpPacket
from numpy.typing import NDArray
from websockets.exceptions import ConnectionClosed

from podium.media.jitter import MarkedFrameJitterBuffer, release_frames_when_marked
from tests.support.analysis import colour_fractions, find_timestamps
from tests.support.client import TIMEOUT, Member, TenantClient
from tests.support.tracks import (
    AUDIO_RATE,
    DEFAULT_AMPLITUDE,
    ColourVideoTrack,
    ToneAudioTrack,
    now_ms,
    send_levels,
)

__all__ = [
    "AUDIO_RATE",
    "AudioRecorder",
    "OfferRefused",
    "SyntheticMember",
    "SyntheticParticipant",
    "VideoRecorder",
    "count_frames_only",
]

#: Messages kept for the test while nobody reads them; a long benchmark must not grow without bound.
INBOX_LIMIT = 4096
#: A gated tone counts as started above this amplitude (of 32767: -30 dBFS), stopped below the other.
_ONSET_ON = 1000.0
_ONSET_OFF = 300.0
_REF_PREFIX = "synthetic-"


# ---- what a synthetic participant receives ---------------------------------------------------------------


class _TrackReader:
    """Reads one remote track at a time in a task; a new track replaces the previous one."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def start(self, track: MediaStreamTrack) -> None:
        """Record ``track`` from now on."""
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                self._on_frame(await track.recv())
                self._changed.set()

    def _on_frame(self, frame: object) -> None:
        raise NotImplementedError

    async def _until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{what} not received within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def stop(self) -> None:
        """Stop recording (what was recorded stays)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class _CountingJitterBuffer(MarkedFrameJitterBuffer):
    """Counts complete frames and keeps them from the decoder: a load generator's participant
    that nobody watches or listens to costs its process no decoding (the node's work is the
    same). Audio frames are one packet each, so the video buffer's rules count them too."""

    def __init__(self, on_frame: Callable[[], None]) -> None:
        super().__init__()
        self.on_frame = on_frame

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        if frame is not None:
            self.on_frame()
        return pli, None


def count_at_rtp(receiver: RTCRtpReceiver, recorder: VideoRecorder | AudioRecorder) -> None:
    """Make ``receiver`` count frames as their packets arrive, before aiortc's receive path: a
    video frame at its marked last packet, an audio frame per packet.

    Cheaper than ``count_frames_only`` for a load generator's many receivers: no depayloading,
    no jitter buffer, no NACK scheduling, no bandwidth estimate (such a receiver asks for a
    fixed tier with ``max_height``; the node's tier choice has nothing to act on). The RTCP
    statistics are kept, so its receiver reports tell the node what arrived, as a browser's do.
    Retransmissions are not counted (a loopback loses nothing)."""
    codecs = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    video = isinstance(recorder, VideoRecorder)
    count = recorder.count

    async def counted(packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        stats = streams.get(packet.ssrc)
        if stats is None:
            stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        if not is_rtx(codec) and (packet.marker or not video):
            count()

    receiver._handle_rtp_packet = counted  # type: ignore[method-assign]


class _InlineDecoding:
    """Stands in for an aiortc receiver's decoder queue: each frame is decoded on the event loop
    as it is handed over, and its pictures go straight to the track.

    aiortc decodes in a thread per receiver; in a load process pinned to one core, each frame
    handed to it wakes that thread, which preempts the event loop while the loop holds the GIL,
    and the two take turns through the interpreter's switch interval: a third of a load
    process's time went to ``Queue.put`` for 4 probes. A 360p composite decodes in ~1 ms."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self._thread_queue = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
        assert receiver._track is not None
        self._frames = receiver._track._queue
        self._errors = receiver._RTCRtpReceiver__decoder_error  # type: ignore[attr-defined]
        self._decoder: tuple[str, Any] | None = None

    def put(self, task: tuple[Any, JitterFrame] | None) -> None:
        if task is None:  # the receiver stops: end its (idle) thread as aiortc would
            self._thread_queue.put(None)
            return
        codec, encoded = task
        if self._decoder is None or self._decoder[0] != codec.name:
            self._decoder = (codec.name, get_decoder(codec))
        try:
            frames = self._decoder[1].decode(encoded)
        except av.FFmpegError:
            self._errors.set()  # a PLI goes out with the next packet, as after a thread's error
            return
        for frame in frames:
            self._frames.put_nowait(frame)


def decode_inline(receiver: RTCRtpReceiver) -> None:
    """Decode what ``receiver`` gets on the event loop, not in aiortc's thread (``_InlineDecoding``)."""
    receiver._RTCRtpReceiver__decoder_queue = _InlineDecoding(receiver)  # type: ignore[attr-defined]


def encode_inline(sender: RTCRtpSender) -> None:
    """Encode what ``sender`` sends on the event loop, not in aiortc's thread pool (whose wake-ups
    cost a one-core load process as decoding threads do, ``_InlineDecoding``). aiortc's own
    encoder still does it: the same bitrate control, the same keyframes on PLI."""

    async def inline(codec: RTCRtpCodecParameters) -> RTCEncodedFrame | None:
        track = sender.track
        assert track is not None
        data = await track.recv()
        if not sender._enabled:
            return None
        assert isinstance(data, av.VideoFrame), "for a camera's sender"
        encoder = sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
        if encoder is None:
            encoder = sender._RTCRtpSender__encoder = get_encoder(codec)  # type: ignore[attr-defined]
        keyframe = sender._RTCRtpSender__force_keyframe  # type: ignore[attr-defined]
        sender._RTCRtpSender__force_keyframe = False  # type: ignore[attr-defined]
        payloads, timestamp = encoder.encode(data, keyframe)
        # No level on video (aiortc passes None too, against its annotation).
        return RTCEncodedFrame(payloads, timestamp, None) if payloads else None  # type: ignore[arg-type]

    sender._next_encoded_frame = inline  # type: ignore[method-assign]


def opus_dtx_asked(sdp: str) -> bool:
    """Whether an SDP's audio section asks for Opus DTX (``usedtx=1`` on Opus's fmtp)."""
    audio = sdp.split("m=audio", 1)[-1].split("\nm=", 1)[0]
    found = re.search(r"a=rtpmap:(\d+) opus/", audio, re.IGNORECASE)
    return found is not None and re.search(rf"a=fmtp:{found.group(1)} .*usedtx=1", audio) is not None


def count_frames_only(receiver: RTCRtpReceiver, recorder: VideoRecorder | AudioRecorder) -> None:
    """Make ``receiver`` count complete frames into ``recorder`` and decode none."""
    receiver._RTCRtpReceiver__jitter_buffer = _CountingJitterBuffer(recorder.count)  # type: ignore[attr-defined]


class VideoRecorder(_TrackReader):
    """The latest received frame, a frame count, arrival times, and (optionally) one-way latencies."""

    def __init__(self, latency_hz: float = 0.0, history: int = 1000) -> None:
        super().__init__()
        self.latest_frame: av.VideoFrame | None = None
        self.frames = 0
        self.arrivals: collections.deque[float] = collections.deque(maxlen=history)
        #: ``receive time - drawn time`` (ms) of every timestamp read from a probed frame.
        self.latencies_ms: list[int] = []
        #: Frames probed for timestamps; ``len(latencies_ms) / probes`` is the tiles read per frame.
        self.probes = 0
        # Reading timestamps costs ~10 ms per composite: probe a few frames a second, not all of them.
        self._probe_every = 1 / latency_hz if latency_hz > 0 else math.inf
        self._probed_at = -math.inf

    def count(self) -> None:
        """A complete frame arrived that is not decoded (see ``_CountingJitterBuffer``)."""
        self.frames += 1
        self.arrivals.append(time.monotonic())
        self._changed.set()

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, av.VideoFrame)
        received = now_ms()
        at = time.monotonic()
        self.latest_frame = frame
        self.frames += 1
        self.arrivals.append(at)
        if at - self._probed_at >= self._probe_every:
            self._probed_at = at
            self.probes += 1
            if len(self.latencies_ms) < 100_000:
                self.latencies_ms.extend(received - ms for ms in find_timestamps(frame))

    def fps(self, window_s: float = 2.0) -> float:
        """Frames per second received over the last ``window_s`` seconds."""
        since = time.monotonic() - window_s
        return sum(1 for at in self.arrivals if at >= since) / window_s

    async def wait_frames(self, count: int, timeout: float = TIMEOUT) -> None:
        """Wait until ``count`` frames in all have been received."""
        await self._until(lambda: self.frames >= count, timeout, f"{count} video frames")


class AudioRecorder(_TrackReader):
    """The last ``keep_s`` seconds of received audio, mono int16.

    With ``onset_hz``, it also times a gated tone of that frequency (``ToneAudioTrack(gated=True)``
    starts it at every wall-clock second): each start heard gives a latency sample, the ms past
    the second at which it arrived (resolution: one 20 ms frame)."""

    def __init__(self, keep_s: float = 2.0, rate: int = AUDIO_RATE, onset_hz: float | None = None) -> None:
        super().__init__()
        self.rate = rate
        self.frames = 0
        self._ring = np.zeros(int(keep_s * rate), dtype=np.int16)
        self._written = 0
        #: Samples received but not decoded (``count_frames_only``): not in ``samples()``.
        self._counted = 0
        self.onset_hz = onset_hz
        #: Arrival ms past the wall-clock second of every start of the ``onset_hz`` tone heard.
        self.onset_latencies_ms: list[int] = []
        self._tone_on = True  # until heard off: a start needs silence before it

    def _on_frame(self, frame: object) -> None:
        assert isinstance(frame, av.AudioFrame)
        data = frame.to_ndarray()
        channels = len(frame.layout.channels)
        # aiortc's Opus decoder gives packed stereo (1, 2n); planar audio is (channels, n).
        mono = data.mean(axis=0) if frame.format.is_planar else data.reshape(-1, channels).mean(axis=1)
        self._append(mono.astype(np.int16))
        self.frames += 1
        if self.onset_hz is not None:
            self._time_onset(mono, self.onset_hz)

    def _time_onset(self, mono: NDArray[np.floating], hz: float) -> None:
        # The tone's amplitude in this frame (a one-bin DFT), with hysteresis between on and off.
        t = np.arange(mono.size) / self.rate
        level = 2 * abs(np.dot(mono, np.exp(-2j * np.pi * hz * t))) / mono.size
        if not self._tone_on and level > _ONSET_ON:
            self._tone_on = True
            self.onset_latencies_ms.append(now_ms() % 1000)
        elif self._tone_on and level < _ONSET_OFF:
            self._tone_on = False

    def _append(self, samples: NDArray[np.int16]) -> None:
        size = self._ring.size
        samples = samples[-size:]
        start = self._written % size
        first = min(samples.size, size - start)
        self._ring[start : start + first] = samples[:first]
        self._ring[: samples.size - first] = samples[first:]
        self._written += samples.size

    def count(self) -> None:
        """A 20 ms packet arrived that is not decoded (see ``count_frames_only``)."""
        self._counted += self.rate // 50
        self.frames += 1
        self._changed.set()

    @property
    def seconds_received(self) -> float:
        """Seconds of audio received in all (decoded or counted)."""
        return (self._written + self._counted) / self.rate

    def samples(self, seconds: float = 2.0) -> NDArray[np.int16]:
        """The last ``seconds`` (at most ``keep_s``) of audio, oldest first."""
        count = min(int(seconds * self.rate), self._ring.size, self._written)
        end = self._written % self._ring.size
        return np.roll(self._ring, -end)[self._ring.size - count :].copy()

    async def wait_seconds(self, seconds: float, timeout: float = TIMEOUT) -> None:
        """Wait until ``seconds`` of audio in all have been received."""
        await self._until(lambda: self.seconds_received >= seconds, timeout, f"{seconds}s of audio")


# ---- the participant -------------------------------------------------------------------------------------


class OfferRefused(Exception):
    """The server answered a ``media.offer`` with an ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SyntheticMember(Member):
    """A ``Member`` whose socket is read by a background task, so media events are handled as they come.

    ``recv``/``next``/``request``/``closed``/``quiet`` work as on ``Member``; they read
    what the task passed on (everything but the participant's own offer replies)."""

    def __init__(self, socket: Any) -> None:
        super().__init__(socket)
        self.handler: Callable[[dict[str, Any]], bool] = lambda message: False
        self.on_closed: Callable[[], None] = lambda: None
        self._inbox: collections.deque[dict[str, Any]] = collections.deque(maxlen=INBOX_LIMIT)
        self._arrived = asyncio.Event()
        self._closed_by: ConnectionClosed | None = None
        self._broken: Exception | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self, handler: Callable[[dict[str, Any]], bool], on_closed: Callable[[], None]) -> None:
        """Start reading; ``handler`` sees every message first and returns True to keep it from ``recv``."""
        self.handler = handler
        self.on_closed = on_closed
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if message["type"] in ("welcome", "lobby.waiting"):
                    self.first = message
                    self.id = message["you"]["id"]
                if not self.handler(message):
                    self._inbox.append(message)
                    self._arrived.set()
        except ConnectionClosed as exc:
            self._closed_by = exc
        except Exception as exc:  # a bug here must fail the test that waits, not hang it
            self._broken = exc
        self._arrived.set()
        self.on_closed()

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message passed on by the reader; raises ``ConnectionClosed`` once the socket is closed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._inbox:
            if self._closed_by is not None:
                raise self._closed_by
            if self._broken is not None:
                raise RuntimeError("the synthetic participant's reader failed") from self._broken
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), deadline - asyncio.get_running_loop().time())
        return self._inbox.popleft()

    @property
    def is_closed(self) -> bool:
        """True once the server or we closed the socket."""
        return self._closed_by is not None

    async def leave(self) -> None:
        """Close the socket and wait for the reader to finish."""
        await self.socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class SyntheticParticipant:
    """One synthetic participant: its WebSocket (``member``), its MCU connection and what it received."""

    _refs = itertools.count(1)

    def __init__(
        self,
        member: SyntheticMember,
        identity: str,
        colour: tuple[int, int, int],
        tone_hz: float,
        *,
        amplitude: float,
        width: int = 640,
        height: int = 360,
        fps: float = 15.0,
        latency_hz: float = 0.0,
        decode: bool = True,
        use_ice_servers: bool = False,
        answer_timeout: float = TIMEOUT,
        screen: tuple[int, int, int] | None = None,
        video_codecs: tuple[str, ...] | None = None,
        max_height: int | None = None,
        downlink_bps: int | None = None,
        encoded_audio: bool = False,
        audio_levels: bool = True,
        dtx: bool = False,
        rtp_counting: bool = False,
        inline_codecs: bool = False,
        gated_audio: bool = False,
        onset_hz: float | None = None,
        view_only: bool = False,
        relay: Mapping[str, Any] | None = None,
    ) -> None:
        self.member = member
        self.identity = identity
        self.colour = colour
        self.tone_hz = tone_hz
        #: The camera: width, height, frames per second.
        self.camera = (width, height, fps)
        #: The colour of a screen to offer as a second video section (sharing it is ``share_screen``).
        self.screen = screen
        #: Offer only these video codecs (``("video/VP8",)``: a client without H.264).
        self.video_codecs = video_codecs
        #: The tallest composite to ask for (``media.offer``'s ``max_height``); None: any.
        self.max_height = max_height
        #: Announce (REMB) at most this many bits/s received, as a receiver on a slow link does.
        self.downlink_bps = downlink_bps
        #: Send the tone as pre-encoded Opus (a load generator's many participants encode nothing).
        self.encoded_audio = encoded_audio
        #: Put the pre-encoded tone's level on its packets (RFC 6464) as browsers do; aiortc puts
        #: its own on the packets it encodes, so this matters with ``encoded_audio`` only.
        self.audio_levels = audio_levels
        #: Honour the answer's Opus ``usedtx=1`` (with ``encoded_audio``): while silent, one packet
        #: per 400 ms, as a browser sends.
        self.dtx = dtx
        #: With ``decode`` False: count at the RTP layer (``count_at_rtp``), not at a jitter buffer.
        self.rtp_counting = rtp_counting
        #: Encode the camera and decode what is received on the event loop, not in aiortc's
        #: threads (``encode_inline``, ``decode_inline``): a one-core load process's choice.
        self.inline_codecs = inline_codecs
        #: Sound only in the first half of every second (for others to time the mix).
        self.gated_audio = gated_audio
        #: Offer to receive only (``recvonly`` audio and video, no tracks), as the web client does
        #: off a webinar's stage; False sends camera and tone whatever the room allows (a forged
        #: client, seen from an off-stage seat).
        self.view_only = view_only
        #: The codec the composite arrives in (``video/H264``), from its RTP payload type.
        self.composite_codec: str | None = None
        self.use_ice_servers = use_ice_servers
        #: An ``RTCIceServer`` (TURN) to send and receive everything through, relay candidates only
        #: (``iceTransportPolicy: "relay"``): the way through an impaired link (``tests.support.network``).
        self.relay = relay
        self.answer_timeout = answer_timeout
        self._amplitude = amplitude
        self.media_mode: str | None = None
        self.speaker: str | None = None
        #: Whether our camera is on the composite (``media.visible``); None until the MCU says.
        self.visible: bool | None = None
        #: ``error`` replies to our offers and ``media.failed`` events, oldest first.
        self.errors: list[dict[str, Any]] = []
        self.mcu_connections = 0
        self.pc: RTCPeerConnection | None = None
        self.audio_out: ToneAudioTrack | None = None
        self.video_out: ColourVideoTrack | None = None
        self.video_in = VideoRecorder(latency_hz=latency_hz)
        #: False: count the composite's and the mix's frames without decoding them (no picture,
        #: no latencies, no samples: a load generator's extra participants).
        self.decode = decode
        self.audio_in = AudioRecorder(onset_hz=onset_hz)
        self._connected = asyncio.Event()
        self._welcomed = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None
        self._pending: collections.deque[tuple[str, asyncio.Future[str]]] = collections.deque()
        self._failures = 0
        self._leaving = False
        self._ice_servers: list[dict[str, Any]] = []
        self._background: set[asyncio.Task[None]] = set()

    # ---- joining and leaving ------------------------------------------------------------------------------

    @classmethod
    async def join(
        cls,
        tenant: TenantClient,
        room: str,
        identity: str,
        colour: tuple[int, int, int],
        tone_hz: float,
        loud: bool = True,
        *,
        role: str = "attendee",
        timeout: float = TIMEOUT,
        **options: Any,
    ) -> SyntheticParticipant:
        """Mint a token with the tenant's API secret and join ``room`` (see ``connect`` for ``options``)."""
        token = await tenant.token(room, identity, role)
        return await cls.connect(
            tenant.ws_url,
            tenant.slug,
            room,
            token,
            identity,
            colour,
            tone_hz,
            loud,
            timeout=timeout,
            **options,
        )

    @classmethod
    async def connect(
        cls,
        ws_url: str,
        tenant: str,
        room: str,
        token: str,
        identity: str,
        colour: tuple[int, int, int],
        tone_hz: float,
        loud: bool = True,
        *,
        amplitude: float | None = None,
        timeout: float = TIMEOUT,
        **options: Any,
    ) -> SyntheticParticipant:
        """Join with a token in hand and wait for ``welcome`` (a lobby waiter waits to be admitted).

        ``loud`` sends the tone at ``DEFAULT_AMPLITUDE``, otherwise silence; ``amplitude``
        overrides both. ``options``: ``width``, ``height``, ``fps`` of the camera,
        ``latency_hz`` (timestamp probes per second of received video), ``decode`` (False:
        only count the composite's and the mix's frames), ``use_ice_servers``
        (use the welcome's STUN/TURN), ``answer_timeout``, ``screen`` (a colour: also offer a
        screen, as the web client does, shown once ``share_screen`` says so), ``video_codecs``
        (offer only these), ``max_height`` (the tallest composite to ask for), ``downlink_bps``
        (cap the bandwidth estimates sent back, as a slow link would), ``encoded_audio`` (send
        the tone pre-encoded, its level on every packet unless ``audio_levels`` is False),
        ``gated_audio`` and ``onset_hz`` (time the mix: see ``AudioRecorder``), ``view_only``
        (offer to receive only, as an off-stage webinar attendee's browser does), ``relay`` (an
        ``RTCIceServer`` to relay all media through: an impaired link)."""
        member = await SyntheticMember.connect(ws_url, tenant, room, token)
        assert isinstance(member, SyntheticMember)
        level = amplitude if amplitude is not None else (DEFAULT_AMPLITUDE if loud else 0.0)
        me = cls(member, identity, colour, tone_hz, amplitude=level, **options)
        member.start(me._on_message, lambda: me._start(me._close_mcu()))
        try:
            await asyncio.wait_for(me._welcomed.wait(), timeout)
        except TimeoutError:
            await member.leave()
            raise AssertionError(
                f"{identity} got no welcome within {timeout}s; saw {list(member._inbox)}"
            ) from None
        return me

    async def leave(self) -> None:
        """Close the MCU connection and the WebSocket; stop recording."""
        self._leaving = True
        await self._close_mcu()
        await self.member.leave()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.video_in.stop()
        await self.audio_in.stop()

    # ---- what was received ---------------------------------------------------------------------------------

    @property
    def latest_frame(self) -> av.VideoFrame | None:
        """The last composite frame received."""
        return self.video_in.latest_frame

    @property
    def frames_received(self) -> int:
        """Composite frames received over all MCU connections."""
        return self.video_in.frames

    def fps(self, window_s: float = 2.0) -> float:
        """Composite frames per second over the last ``window_s`` seconds."""
        return self.video_in.fps(window_s)

    def audio_samples(self, seconds: float = 2.0) -> NDArray[np.int16]:
        """The last ``seconds`` (at most 2) of the received audio mix: mono int16 at 48 kHz."""
        return self.audio_in.samples(seconds)

    @property
    def latencies_ms(self) -> list[int]:
        """One-way video latencies read from the composite's timestamps (needs ``latency_hz``)."""
        return self.video_in.latencies_ms

    @property
    def amplitude(self) -> float:
        """The tone's amplitude (0 = silence); setting it takes effect on the next 20 ms frame."""
        return self._amplitude

    @amplitude.setter
    def amplitude(self, value: float) -> None:
        self._amplitude = value
        if self.audio_out is not None:
            self.audio_out.amplitude = value

    @property
    def mcu_connected(self) -> bool:
        """True while the MCU peer connection is connected."""
        return self._connected.is_set()

    async def wait_shares(
        self,
        colours: Mapping[str, tuple[int, int, int]],
        want: Mapping[str, tuple[float, float]],
        what: str,
        within: float = 15.0,
    ) -> None:
        """Wait until the share of the composite that is each colour lies in its (low, high) range."""
        deadline = asyncio.get_running_loop().time() + within
        shares: dict[str, float] = {}
        while asyncio.get_running_loop().time() < deadline:
            frame = self.latest_frame
            if frame is not None:
                shares = colour_fractions(frame, {name: colours[name] for name in want})
                if all(low <= shares[name] <= high for name, (low, high) in want.items()):
                    return
            await asyncio.sleep(0.3)
        raise AssertionError(f"{self.identity}: {what}: composite shares {shares}, wanted {dict(want)}")

    async def share_screen(self, sharing: bool = True) -> None:
        """Announce that we share (or stopped sharing) the screen we offered (``screen``)."""
        await self.member.send({"type": "self.update", "screen_sharing": sharing})

    def offer_again(self) -> None:
        """Make a new MCU connection now (a browser does when put on or taken off stage)."""
        self._start_mcu()

    async def wait_mcu_connected(self, timeout: float = TIMEOUT) -> None:
        """Wait until the MCU peer connection is connected (ICE and DTLS done)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            state = self.pc.connectionState if self.pc is not None else "no connection"
            raise AssertionError(
                f"{self.identity}: MCU not connected within {timeout}s (mode {self.media_mode}, "
                f"{state}); errors: {self.errors}"
            ) from None

    async def wait_frames(self, count: int, timeout: float = TIMEOUT) -> None:
        """Wait until ``count`` composite frames in all have been received."""
        await self.video_in.wait_frames(count, timeout)

    # ---- the realtime protocol -----------------------------------------------------------------------------

    def _on_message(self, message: dict[str, Any]) -> bool:
        kind = message["type"]
        if kind == "welcome":
            self._welcomed.set()
            self._ice_servers = message.get("ice_servers", [])
            self._set_mode(message["media_mode"])
        elif kind == "media.mode":
            self._set_mode(message["mode"])
        elif kind == "media.answer":
            while self._pending:
                _, answer = self._pending.popleft()
                if not answer.done():
                    answer.set_result(message["sdp"])
                    break
        elif kind == "media.visible":
            self.visible = bool(message["video"])
            if self.video_out is not None and self.visible:
                self.video_out.resume()
            elif self.video_out is not None:
                self.video_out.pause()
        elif kind == "media.speaker":
            self.speaker = message["participant_id"]
        elif kind == "media.failed":
            self.errors.append(message)
            if self.media_mode == "mcu":
                self._start_mcu(retry=True)
        elif kind in ("ack", "error") and str(message.get("ref") or "").startswith(_REF_PREFIX):
            self._offer_replied(message)
            return True
        return False

    def _offer_replied(self, message: dict[str, Any]) -> None:
        for entry in list(self._pending):
            ref, answer = entry
            if ref == message["ref"]:
                # The answer always comes before the ack: an entry still here got none and never will.
                self._pending.remove(entry)
                if message["type"] == "error" and not answer.done():
                    answer.set_exception(OfferRefused(message["code"], message["message"]))
        if message["type"] == "error":
            self.errors.append(message)

    def _set_mode(self, mode: str) -> None:
        self.media_mode = mode
        if mode == "mcu":
            if self.pc is None and (self._connecting is None or self._connecting.done()):
                self._start_mcu()
        else:
            self._start(self._close_mcu())

    # ---- the MCU connection --------------------------------------------------------------------------------

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _start_mcu(self, retry: bool = False) -> None:
        """(Re)connect to the MCU; a retry waits a little longer after each failure in a row."""
        if self._leaving:
            return
        if self._connecting is not None:
            self._connecting.cancel()
        delay = min(5.0, 0.25 * 2**self._failures) if retry else 0.0
        self._failures += int(retry)
        self._connecting = asyncio.get_running_loop().create_task(self._connect(delay))

    async def _connect(self, delay: float) -> None:
        try:
            await self._offer(delay)
        except Exception as exc:  # recorded, so that wait_mcu_connected can say why
            self.errors.append({"type": "error", "code": "client_error", "message": repr(exc)})

    async def _offer(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._close_pc()
        servers = self._ice_servers if self.use_ice_servers else []
        if self.relay is not None:
            servers = [dict(self.relay)]
        pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=[
                    RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                    for s in servers
                ],
                # As the web client does; aiortc's default would strand a second video section.
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                iceTransportPolicy=RTCIceTransportPolicy.RELAY if self.relay else RTCIceTransportPolicy.ALL,
            )
        )
        self.pc = pc
        if self.view_only:
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        else:
            self._add_senders(pc)
        if self.screen is not None and not self.view_only:
            pc.addTransceiver(ColourVideoTrack(self.screen, 1280, 720, fps=5), direction="sendonly")
        # aiortc offers VP8 first, then H.264: the camera goes up in VP8 (an H.264 encoder would
        # cost more CPU) and the node sends the composite down in H.264, as to a browser.
        if self.video_codecs is not None:
            wanted = (*self.video_codecs, "video/rtx")
            codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in wanted]
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "video":
                    transceiver.setCodecPreferences(codecs)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            (self.video_in if track.kind == "video" else self.audio_in).start(track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc is not self.pc:
                return
            if pc.connectionState == "connected":
                self._failures = 0
                self.mcu_connections += 1
                self._connected.set()
            elif pc.connectionState in ("failed", "closed"):
                self._connected.clear()
                if pc.connectionState == "failed" and self.media_mode == "mcu":
                    self._start_mcu(retry=True)

        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
        assert pc.localDescription is not None
        ref = f"{_REF_PREFIX}{next(self._refs)}"
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((ref, answer))
        offer: dict[str, Any] = {"type": "media.offer", "sdp": pc.localDescription.sdp, "ref": ref}
        if self.max_height is not None:
            offer["max_height"] = self.max_height
        await self.member.send(offer)
        try:
            sdp = await asyncio.wait_for(answer, self.answer_timeout)
        except OfferRefused:
            return  # recorded in ``errors``; a media.mode or media.failed event starts over
        except TimeoutError:
            self.errors.append({"type": "error", "code": "answer_timeout", "ref": ref})
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        video = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
        audio = next(t.receiver for t in pc.getTransceivers() if t.kind == "audio")
        if self.decode:
            # As a browser does: a frame goes to the decoder once complete, not a frame later.
            release_frames_when_marked(video)
            if self.inline_codecs:
                decode_inline(video)
                decode_inline(audio)
        elif self.rtp_counting:
            count_at_rtp(video, self.video_in)
            count_at_rtp(audio, self.audio_in)
        else:
            count_frames_only(video, self.video_in)
            count_frames_only(audio, self.audio_in)
        self._watch_composite_codec(pc, sdp)
        if self.dtx and self.audio_out is not None:
            self.audio_out.dtx = opus_dtx_asked(sdp)
        if self.downlink_bps is not None:
            self._cap_estimates(pc, self.downlink_bps)

    def _add_senders(self, pc: RTCPeerConnection) -> None:
        """The tone and the camera, going up."""
        self.audio_out = ToneAudioTrack(
            self.tone_hz, self._amplitude, encoded=self.encoded_audio, gated=self.gated_audio
        )
        self.video_out = ColourVideoTrack(self.colour, *self.camera)
        if self.visible is False:
            self.video_out.pause()
        audio_sender = pc.addTrack(self.audio_out)
        if self.encoded_audio and self.audio_levels:
            send_levels(audio_sender, self.audio_out)
        video_sender = pc.addTrack(self.video_out)
        if self.inline_codecs:
            encode_inline(video_sender)

    def _watch_composite_codec(self, pc: RTCPeerConnection, answer: str) -> None:
        """Note the codec of the composite's RTP packets (the answer maps payload types to codecs)."""
        video = answer.split("m=video")[1].split("m=")[0]
        names = {int(pt): f"video/{name}" for pt, name in re.findall(r"a=rtpmap:(\d+) ([\w-]+)/", video)}
        receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
        handle = receiver._handle_rtp_packet

        async def noting(packet: Any, arrival_time_ms: int) -> None:
            name = names.get(packet.payload_type)
            if name is not None and name != "video/rtx":  # retransmissions say nothing of the codec
                self.composite_codec = name
                receiver._handle_rtp_packet = handle  # type: ignore[method-assign]  # noted: out of the way
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = noting  # type: ignore[method-assign]

    @staticmethod
    def _cap_estimates(pc: RTCPeerConnection, bps: int) -> None:
        """Make the video receiver's REMB say at most ``bps``, whatever loopback carries."""
        receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        add = estimator.add

        def capped(*args: Any, **kwargs: Any) -> tuple[int, list[int]] | None:
            remb = add(*args, **kwargs)
            return None if remb is None else (min(remb[0], bps), remb[1])

        estimator.add = capped

    def _detach_pc(self) -> Coroutine[Any, Any, None]:
        """Take the peer connection and tracks off this participant now; the result closes them."""
        pc, self.pc = self.pc, None
        self._connected.clear()
        tracks = [t for t in (self.audio_out, self.video_out) if t is not None]
        self.audio_out = self.video_out = None

        async def close() -> None:
            if pc is not None:
                await pc.close()
            for track in tracks:
                track.stop()

        return close()

    async def _close_pc(self) -> None:
        await self._detach_pc()

    def _close_mcu(self) -> Coroutine[Any, Any, None]:
        """Leave the MCU (the room went peer-to-peer, or we are leaving).

        What to close is taken when this is called, not when the result runs: a ``media.mode mcu``
        read in between (a 7th joiner's welcome says p2p, the next message mcu) starts a connection
        that must not be cancelled by the p2p one's clean-up."""
        connecting, self._connecting = self._connecting, None
        if connecting is not None and connecting is not asyncio.current_task():
            connecting.cancel()
        else:
            connecting = None
        close = self._detach_pc()

        async def finish() -> None:
            if connecting is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
            await close

        return finish()
