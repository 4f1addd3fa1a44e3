"""One MCU room on a media node: participants' peer connections, the composite, the mix.

Every participant sends one audio and one video stream up and receives one
composite video (at the quality tier its bandwidth allows, in H.264 if its offer
has it, else VP8) and one audio mix down. Per tick the room composites the
visible tiles once, encodes once per tier and codec that has receivers, and fans
the packets out (``fanout.Feed``); the mixer does the same for audio.
Compositing and encoding run in a worker thread so the event loop keeps moving
packets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, unpack_remb_fci

from podium.media.audio_jitter import AudioJitterBuffer, buffer_audio
from podium.media.compositor import Compositor, TileInput
from podium.media.encoder import CODECS, TIERS, TierEncoder
from podium.media.fanout import Feed, FrameTrack, PacketTrack
from podium.media.jitter import release_frames_when_marked
from podium.media.layout import LAYOUTS, select_visible
from podium.media.losses import LinkStats, watch_downlink
from podium.media.mixer import FRAME_SAMPLES, AudioMixer, Samples
from podium.media.sender import send_shared_packets
from podium.media.tiers import TierChoice

__all__ = ["CONTENT_ID", "MediaError", "RoomEvents", "RoomSession", "decode_still", "feed_name"]

log = logging.getLogger(__name__)

FPS = 15
#: Tiles on the composite at most (last-N by active speaker).
LAST_N = 9
#: A tile whose uplink has sent nothing for this long shows a placeholder instead of a frozen frame.
FROZEN_AFTER = 3.0
#: Forced keyframes per tier are at most this frequent, however many receivers ask.
KEYFRAME_MIN_INTERVAL = 0.5
#: The content tile's id on the composite (participant ids never start with "@").
CONTENT_ID = "@content"
#: Audio frames buffered per participant (60 ms): enough to ride out jitter, little delay.
_AUDIO_BUFFER = 3
#: A listener whose last receiver report lost this share of the mix's packets gets in-band FEC in
#: their own mix (the shared mix always carries it).
FEC_ON_LOSS = 0.01


class MediaError(Exception):
    """A request the node cannot serve; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RoomEvents:
    """Where a room reports what core must tell the participants."""

    speaker: Callable[[str | None], None]
    visible: Callable[[str, bool], None]
    gone: Callable[[str, str], None]


@dataclass
class _Participant:
    id: str
    name: str
    pc: RTCPeerConnection
    audio_out: PacketTrack
    video_out: PacketTrack
    audio_muted: bool = False
    video_muted: bool = False
    screen_sharing: bool = False
    #: The composite's tier this receiver gets (starts on the best it accepts; see ``tiers``).
    tiers: TierChoice = field(default_factory=lambda: _tier_choice(None))
    #: The composite's codec for this receiver: ``h264`` when its offer has it, else ``vp8``.
    codec: str = "vp8"
    estimate_bps: int = 0
    frame: av.VideoFrame | None = None
    frame_at: float = 0.0
    #: The latest frame of the participant's screen share (their offer's second video section).
    screen: av.VideoFrame | None = None
    #: When they last started sharing: the newest share is the one shown.
    sharing_since: float = 0.0
    audio: collections.deque[Samples] = field(default_factory=lambda: collections.deque(maxlen=_AUDIO_BUFFER))
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    visible: bool | None = None
    #: The uplink's audio buffer (it counts the quiet packets left undecoded).
    audio_in: AudioJitterBuffer | None = None
    #: On stage: their uplink is decoded, composited and mixed. Off stage (a webinar's attendee):
    #: view-only, they cost the node the fan-out of the shared packets and nothing else.
    publish: bool = True
    #: Losses, NACKs, PLIs and tier changes on their connection (``podium.media.losses``).
    links: LinkStats = field(default_factory=LinkStats)


def _tier_choice(max_height: int | None) -> TierChoice:
    """A receiver's tiers (best first) starting on the tallest no taller than ``max_height``."""
    fits = [i for i, spec in enumerate(TIERS) if max_height is None or spec.height <= max_height]
    return TierChoice(tuple(spec.name for spec in TIERS), best=fits[0] if fits else len(TIERS) - 1)


def feed_name(tier: str, codec: str) -> str:
    """The name of the composite's feed for one tier in one codec (``high-h264``)."""
    return f"{tier}-{codec}"


def _h264(codecs: list[RTCRtpCodecParameters]) -> RTCRtpCodecParameters | None:
    """The negotiated H.264 the tier encoders make (packetization-mode 1, a baseline profile), if any."""
    for codec in codecs:
        params = codec.parameters
        if (
            codec.mimeType.lower() == "video/h264"
            and str(params.get("packetization-mode")) == "1"
            and str(params.get("profile-level-id", "")).lower().startswith("42")
        ):
            return codec
    return None


def _send_with(sender: RTCRtpSender, chosen: RTCRtpCodecParameters) -> None:
    """Make ``sender`` send ``chosen`` (any codec of the answer may be sent), not the first one.

    The first negotiated codec is the one the participant sends its camera with (VP8 from
    our clients), and aiortc sends with it too; the composite goes down in ``chosen``.
    """
    send = sender.send

    async def send_chosen(parameters: RTCRtpSendParameters) -> None:
        parameters.codecs = [chosen, *(c for c in parameters.codecs if c is not chosen)]
        await send(parameters)

    sender.send = send_chosen  # type: ignore[method-assign]


def decode_still(image: bytes) -> av.VideoFrame:
    """A JPEG or PNG as a yuv420p frame no larger than the high tier's canvas."""
    try:
        with av.open(io.BytesIO(image), mode="r") as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration, ValueError) as exc:
        raise MediaError("invalid_image", f"the content image could not be decoded: {exc}") from exc
    high = TIERS[0]
    scale = min(1.0, high.width / frame.width, high.height / frame.height)
    width, height = max(2, round(frame.width * scale) & ~1), max(2, round(frame.height * scale) & ~1)
    return frame.reformat(width=width, height=height, format="yuv420p")


def _ask_for_dtx(pc: RTCPeerConnection) -> None:
    """Answer Opus with ``usedtx=1`` (aiortc's answer has no fmtp for it): a silent browser (most
    of a large room) then sends one packet per 400 ms instead of fifty. Not ``useinbandfec``: the
    node's decoder (PyAV's libopus) cannot use FEC, which would cost the browser uplink bits."""
    for transceiver in pc.getTransceivers():
        for codec in transceiver._codecs:
            if codec.mimeType.lower() == "audio/opus":
                codec.parameters.pop("useinbandfec", None)
                codec.parameters.update(usedtx=1)


def _receive_nothing(pc: RTCPeerConnection) -> None:
    """Answer every section as receive-nothing: the composite and the mix go down (``sendonly``),
    anything else is ``inactive``. aiortc then never starts the receivers, and drops whatever RTP
    a client sends on them anyway, before any jitter buffer or decoder."""
    for transceiver in pc.getTransceivers():
        transceiver.direction = "sendonly" if transceiver.sender.track is not None else "inactive"


def _mono(frame: av.AudioFrame) -> Samples:
    """aiortc decodes Opus to interleaved s16 stereo at 48 kHz; the mixer works in mono."""
    samples = frame.to_ndarray()
    if frame.format.is_planar or samples.shape[0] > 1:
        mono = samples.astype(np.int32).mean(axis=0)
    else:
        channels = len(frame.layout.channels)
        mono = samples.reshape(-1, channels).astype(np.int32).mean(axis=1)
    out: Samples = mono.astype(np.int16)
    if out.shape[0] != FRAME_SAMPLES:
        out = np.resize(out, FRAME_SAMPLES).astype(np.int16)
    return out


class RoomSession:
    """The MCU for one room."""

    def __init__(
        self,
        key: str,
        events: RoomEvents,
        layout: str = "grid",
        mix_k: int = 3,
        naive: bool = False,
        pause_hidden: bool = True,
        shared_packing: bool = True,
    ) -> None:
        self.key = key
        #: Benchmark baseline: raw composite and mix relayed to every connection, each encoding its own.
        self.naive = naive
        #: Tell people off the composite to pause their camera (``media.visible``); False only to
        #: measure what that saves.
        self.pause_hidden = pause_hidden
        #: Send through the node's own RTP loop (frames packed once per feed, podium.media.sender);
        #: False only to measure what that saves against aiortc's loop.
        self.shared_packing = shared_packing
        self._relay = MediaRelay()
        self._raw_video = FrameTrack("video")
        self._raw_audio = FrameTrack("audio")
        self.events = events
        self.participants: dict[str, _Participant] = {}
        self.layout = layout
        self.pinned: list[str] = []
        self.recent_speakers: list[str] = []
        self.compositor = Compositor(layout=LAYOUTS.get(layout, LAYOUTS["grid"]))
        #: One encoder per tier and codec, made when the feed first has a follower.
        self.encoders: dict[str, TierEncoder] = {}
        self.video_feeds = {
            feed_name(spec.name, codec): Feed(f"video-{feed_name(spec.name, codec)}", codec)
            for spec in TIERS
            for codec in CODECS
        }
        self.mixer = AudioMixer(k=mix_k, fec_for=self._lossy_listener)
        self.shared_audio = Feed("audio-mix", "opus")
        self.personal_audio: dict[str, Feed] = {}
        self._speaker: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._video_busy = False
        self._shown: list[str] = []
        #: The content tile's picture (a slide), decoded once; ``None``: no content tile.
        self.content: av.VideoFrame | None = None
        self.closed = False
        #: The ``LinkStats`` counters of participants who left (``counters`` adds the present).
        self.departed: dict[str, float] = {}
        #: ``audio_skipped``: uplink audio packets left undecoded as quiet (of those who left;
        #: ``counters`` adds the present). ``uplink_frames``: uplink video frames and audio packets
        #: handed to a decoder; ``viewer_uplink_frames``: of those, any from someone off stage
        #: (there must be none: their uplink is never decoded).
        self.stats = {
            "composites": 0,
            "encodes": 0,
            "audio_ticks": 0,
            "audio_skipped": 0,
            "uplink_frames": 0,
            "viewer_uplink_frames": 0,
            "keyframes_forced": 0,
        }

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._audio_loop(), name=f"mix-{self.key}"),
            loop.create_task(self._video_loop(), name=f"composite-{self.key}"),
        ]

    # ---- participants ---------------------------------------------------------------------------------

    async def connect(
        self,
        participant_id: str,
        name: str,
        sdp: str,
        *,
        audio_muted: bool,
        video_muted: bool,
        screen_sharing: bool = False,
        max_height: int | None = None,
        publish: bool = True,
    ) -> str:
        """Answer a participant's offer (a new offer replaces its previous connection).

        ``max_height``: the receiver wants no taller composite than this (the lowest tier at least).
        ``publish``: False for someone off stage: whatever their offer sends is answered as
        receive-nothing, so none of it is ever decoded; they get the composite and the mix."""
        if self.closed:
            raise MediaError("room_closed", "this room's media session is closed")
        await self.disconnect(participant_id)
        # max-bundle: every section on one transport from the start. (aiortc's default "balanced"
        # leaves a second video section on a transport the BUNDLE answer orphans: no screen.)
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        me = _Participant(
            id=participant_id,
            name=name,
            pc=pc,
            audio_out=PacketTrack("audio"),
            video_out=PacketTrack("video"),
            audio_muted=audio_muted,
            video_muted=video_muted,
            screen_sharing=screen_sharing,
            sharing_since=time.monotonic() if screen_sharing else 0.0,
            tiers=_tier_choice(max_height),
            publish=publish,
        )

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if not me.publish:
                return  # nothing of theirs is received (their sections are answered send-only)
            videos = [t for t in pc.getTransceivers() if t.kind == "video"]
            if track.kind == "audio":
                reader = self._read_audio(me, track)
            elif len(videos) > 1 and videos[1].receiver.track is track:
                reader = self._read_screen(me, track)
            else:
                reader = self._read_video(me, track)
            me.readers.append(asyncio.get_running_loop().create_task(reader))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "failed" and self.participants.get(participant_id) is me:
                await self.disconnect(participant_id)
                self.events.gone(participant_id, "ice_failed")

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:
            await pc.close()
            raise MediaError("invalid_sdp", f"the offer could not be used: {exc}") from exc
        kinds = [t.kind for t in pc.getTransceivers()]
        if kinds.count("audio") != 1 or kinds.count("video") not in (1, 2):
            await pc.close()
            raise MediaError(
                "invalid_sdp", "the offer must carry one audio and one or two video sections (camera, screen)"
            )
        _ask_for_dtx(pc)
        decoded = self._decode_counter(me)
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                # A frame interval less latency, and losses repaired (NACK) or cut short (PLI).
                release_frames_when_marked(transceiver.receiver, decoded, me.links)
            else:
                me.audio_in = buffer_audio(transceiver.receiver, decoded, me.links)
        camera = next(t for t in pc.getTransceivers() if t.kind == "video")
        h264 = _h264(camera._codecs)
        if self.naive:
            watch_downlink(pc.addTrack(self._relay.subscribe(self._raw_audio, buffered=False)), me.links)
            watch_downlink(pc.addTrack(self._relay.subscribe(self._raw_video, buffered=False)), me.links)
        else:
            audio = pc.addTrack(me.audio_out)
            watch_downlink(audio, me.links)
            sender = pc.addTrack(me.video_out)
            if self.shared_packing:
                send_shared_packets(audio, me.audio_out)
                send_shared_packets(sender, me.video_out)
            watch_downlink(sender, me.links)
            self._watch_sender(me, sender)
            if h264 is not None:
                me.codec = "h264"
                _send_with(sender, h264)
        if not publish:
            _receive_nothing(pc)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        self.participants[participant_id] = me
        me.audio_out.follow(self.shared_audio)
        self._follow_tier(me)
        return pc.localDescription.sdp

    def _decode_counter(self, me: _Participant) -> Callable[[], None]:
        """What the uplink's jitter buffers call for each frame they hand to a decoder."""

        def decoded() -> None:
            self.stats["uplink_frames"] += 1
            if not me.publish:
                self.stats["viewer_uplink_frames"] += 1

        return decoded

    def _watch_sender(self, me: _Participant, sender: RTCRtpSender) -> None:
        """Route a receiver's keyframe requests and bandwidth estimates to its feed (coalesced there)."""
        handle_rtcp = sender._handle_rtcp_packet

        async def on_rtcp(packet: Any) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                with contextlib.suppress(ValueError):
                    bitrate, _ = unpack_remb_fci(packet.fci)
                    me.estimate_bps = bitrate
                    self._choose_tier(me)
            await handle_rtcp(packet)  # counts the report's losses (podium.media.losses)
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket) and any(
                report.ssrc == sender._ssrc for report in packet.reports
            ):
                self._choose_tier(me, me.links.downlink_fraction.get("video", 0.0))

        sender._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign]
        # PLI/FIR end in _send_keyframe, which would force an encode that never happens
        # for pre-encoded packets: ask the feed instead.
        sender._send_keyframe = lambda: me.video_out.feed.want_keyframe() if me.video_out.feed else None  # type: ignore[method-assign]

    def _choose_tier(self, me: _Participant, lost: float | None = None) -> None:
        """Move ``me`` by its latest estimate, or by the share ``lost`` its latest report counted."""
        rate = me.video_out.feed.rate_bps() if me.video_out.feed is not None else None
        before, now = me.tiers.tier, time.monotonic()
        tiers = me.tiers
        chosen = tiers.on_estimate(me.estimate_bps, rate, now) if lost is None else tiers.on_loss(lost, now)
        if chosen != before:
            me.links.tier_changes[me.tiers.tier] = me.links.tier_changes.get(me.tiers.tier, 0) + 1
        self._follow_tier(me)

    def _lossy_listener(self, participant_id: str) -> bool:
        """Whether a listener's downlink loses audio (their own mix then carries FEC)."""
        me = self.participants.get(participant_id)
        return me is not None and me.links.downlink_fraction.get("audio", 0.0) >= FEC_ON_LOSS

    def _follow_tier(self, me: _Participant) -> None:
        """Send ``me`` the composite feed of its current tier, in its codec."""
        me.video_out.follow(self.video_feeds[feed_name(me.tiers.tier, me.codec)])

    async def _read_video(self, me: _Participant, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                me.frame = frame
                me.frame_at = time.monotonic()

    async def _read_screen(self, me: _Participant, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                if me.screen_sharing:
                    me.screen = frame

    async def _read_audio(self, me: _Participant, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                me.audio.append(_mono(frame))

    def update(
        self,
        participant_id: str,
        *,
        name: str | None,
        audio_muted: bool | None,
        video_muted: bool | None,
        screen_sharing: bool | None = None,
        max_height: int | None = None,
        publish: bool | None = None,
    ) -> None:
        me = self.participants.get(participant_id)
        if me is None:
            raise MediaError("participant_not_found", "no such participant on this node")
        if publish is not None and publish != me.publish:
            self._set_publish(me, publish)
        if name is not None:
            me.name = name
        if audio_muted is not None:
            me.audio_muted = audio_muted
        if video_muted is not None:
            me.video_muted = video_muted
        if screen_sharing is not None:
            if screen_sharing and not me.screen_sharing:
                me.sharing_since = time.monotonic()
            me.screen_sharing = screen_sharing
            if not screen_sharing:
                me.screen = None  # a later share must not open on the last one's picture
        if max_height is not None:
            me.tiers.cap(_tier_choice(max_height).best)
            self._follow_tier(me)

    def _set_publish(self, me: _Participant, publish: bool) -> None:
        """On stage from now on (their next offer's sections are received), or off it: their
        uplink is dropped before any jitter buffer at once, and their tile and voice go."""
        me.publish = publish
        if publish:
            return  # what they send arrives on the connection their next offer makes
        for transceiver in me.pc.getTransceivers():
            transceiver.receiver._enabled = False  # aiortc drops its RTP on arrival
        for task in me.readers:
            task.cancel()
        me.readers.clear()
        me.frame = me.screen = None
        me.audio.clear()
        me.visible = None
        self.mixer.forget(me.id)
        if me.id in self.recent_speakers:
            self.recent_speakers.remove(me.id)

    async def disconnect(self, participant_id: str) -> bool:
        me = self.participants.pop(participant_id, None)
        if me is None:
            return False
        for task in me.readers:
            task.cancel()
        me.audio_out.stop()
        me.video_out.stop()
        if me.audio_in is not None:
            self.stats["audio_skipped"] += me.audio_in.skipped
        for name, value in me.links.counters().items():
            self.departed[name] = self.departed.get(name, 0) + value
        self.mixer.forget(participant_id)
        self.personal_audio.pop(participant_id, None)
        if participant_id in self.recent_speakers:
            self.recent_speakers.remove(participant_id)
        await me.pc.close()
        return True

    async def counters(self) -> dict[str, float]:
        """RTP packets in and out over every connection, the work done so far, and who follows which feed."""
        sent = received = 0
        for p in list(self.participants.values()):
            for stat in (await p.pc.getStats()).values():
                if stat.type == "outbound-rtp":
                    sent += stat.packetsSent
                elif stat.type == "inbound-rtp":
                    received += stat.packetsReceived
        following = {
            f"receivers_{name}": len(feed.tracks) for name, feed in self.video_feeds.items() if feed.tracks
        }
        skipped = self.stats["audio_skipped"] + sum(
            p.audio_in.skipped for p in self.participants.values() if p.audio_in is not None
        )
        totals = {**self.stats, "audio_skipped": skipped}
        stage = {
            "publishers": sum(p.publish for p in self.participants.values()),
            "viewers": sum(not p.publish for p in self.participants.values()),
        }
        network = self.network_counters()
        return {"packets_out": sent, "packets_in": received, **totals, **following, **stage, **network}

    def network_counters(self) -> dict[str, float]:
        """Losses, repairs, keyframe requests and tier changes of everyone who has been in the room."""
        out = dict(self.departed)
        for p in list(self.participants.values()):
            for name, value in p.links.counters().items():
                out[name] = out.get(name, 0) + value
        out["keyframes_forced"] = self.stats["keyframes_forced"]
        return out

    def set_layout(self, layout: str, pinned: list[str]) -> None:
        if layout not in LAYOUTS:
            raise MediaError("unknown_layout", f"no layout named {layout!r}; known: {sorted(LAYOUTS)}")
        self.layout = layout
        self.pinned = pinned
        self.compositor.layout = LAYOUTS[layout]

    async def set_content(self, image: bytes | None) -> None:
        """Show ``image`` (JPEG/PNG) as the content tile, or take the content tile away."""
        self.content = None if image is None else await asyncio.to_thread(decode_still, image)

    async def close(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for pid in list(self.participants):
            await self.disconnect(pid)

    # ---- audio ----------------------------------------------------------------------------------------

    async def _audio_loop(self) -> None:
        """Every 20 ms on a drift-free schedule: mix, encode, fan out, track the dominant speaker."""
        period = FRAME_SAMPLES / 48_000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > 0.2:
                next_at = loop.time()  # fell far behind (a stall): don't burst to catch up
            try:
                self._mix_once()
            except Exception:
                log.exception("audio mix failed in %s", self.key)

    def _mix_once(self) -> None:
        # Off stage people are no input to the mix (they hear the shared mix like everyone).
        frames = {
            pid: (None if p.audio_muted or not p.audio else p.audio.popleft())
            for pid, p in self.participants.items()
            if p.publish
        }
        result = self.mixer.tick(frames, encode=not self.naive)
        self.stats["audio_ticks"] += 1
        if self.naive:
            assert result.samples is not None
            raw = av.AudioFrame.from_ndarray(result.samples.reshape(1, -1), format="s16", layout="mono")
            raw.sample_rate = 48_000
            raw.pts = self.mixer.pts
            raw.time_base = Fraction(1, 48_000)
            self._raw_audio.push(raw)
            return
        # Route first, then publish: someone who just became a top-K speaker must not get this
        # tick's shared mix, which already carries their own voice.
        for pid in result.personal:
            if pid not in self.personal_audio:
                self.personal_audio[pid] = Feed(f"audio-{pid}", "opus")
        for pid, p in self.participants.items():
            p.audio_out.follow(self.personal_audio[pid] if pid in result.personal else self.shared_audio)
        self.shared_audio.publish(result.shared)
        for pid, packets in result.personal.items():
            self.personal_audio[pid].publish(packets)
        speaker = self.mixer.dominant_speaker()
        if speaker != self._speaker:
            self._speaker = speaker
            if speaker is not None:
                if speaker in self.recent_speakers:
                    self.recent_speakers.remove(speaker)
                self.recent_speakers.insert(0, speaker)
            self.events.speaker(speaker)

    # ---- video ----------------------------------------------------------------------------------------

    async def _video_loop(self) -> None:
        period = 1 / FPS
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_at = started
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if self._video_busy:
                continue  # the previous composite is still encoding: skip a frame, don't queue
            if loop.time() - next_at > 1.0:
                next_at = loop.time()
            try:
                await self._composite_once(int((loop.time() - started) * 90_000))
            except Exception:
                log.exception("composite failed in %s", self.key)

    def _visible_tiles(self) -> list[TileInput]:
        # The stage: only those who publish have a tile (a webinar's audience has none).
        stage = {pid: p for pid, p in self.participants.items() if p.publish}
        order = list(stage)
        # A shared screen is the content while it lasts; with several, the newest share (as a
        # presenter taking over expects), the previous one back when it ends; else the still.
        sharers = [p for p in stage.values() if p.screen_sharing and p.screen]
        newest = max(sharers, key=lambda p: p.sharing_since, default=None)
        content = newest.screen if newest is not None else self.content
        # The content tile takes one of the last-N places and leads the layout.
        last_n = LAST_N - (content is not None)
        # Passing the last selection keeps people in their slots when someone new speaks.
        visible = select_visible(order, self.recent_speakers, self.pinned, last_n, previous=self._shown)
        self._shown = visible
        now = time.monotonic()
        tiles = [] if content is None else [TileInput(CONTENT_ID, "", content, content=True)]
        for pid, p in stage.items():
            shown = pid in visible
            if p.visible is not shown:
                p.visible = shown
                if self.pause_hidden:
                    self.events.visible(pid, shown)
        for pid in visible:
            p = self.participants[pid]
            fresh = p.frame is not None and now - p.frame_at < FROZEN_AFTER
            tiles.append(
                TileInput(
                    participant_id=pid,
                    name=p.name,
                    frame=p.frame if fresh else None,
                    video_muted=p.video_muted,
                    speaking=pid == self._speaker,
                )
            )
        return tiles

    async def _composite_once(self, pts: int) -> None:
        if self.naive:
            if self.participants:
                tiles = self._visible_tiles()
                canvas = await asyncio.to_thread(self.compositor.compose, tiles)
                canvas.pts, canvas.time_base = pts, Fraction(1, 90_000)
                self._raw_video.push(canvas)
            return
        wanted = {name: feed for name, feed in self.video_feeds.items() if feed.tracks}
        if not wanted:
            return
        tiles = self._visible_tiles()
        keyframes = {name: feed.take_keyframe_request(KEYFRAME_MIN_INTERVAL) for name, feed in wanted.items()}
        self._video_busy = True
        try:
            packets = await asyncio.to_thread(self._render, tiles, pts, keyframes)
        finally:
            self._video_busy = False
        for name, out in packets.items():
            self.video_feeds[name].publish(out)

    def _render(
        self, tiles: list[TileInput], pts: int, keyframes: dict[str, bool]
    ) -> dict[str, list[av.Packet[Any]]]:
        """Worker thread: composite once, encode once per wanted tier and codec."""
        canvas = self.compositor.compose(tiles)
        self.stats["composites"] += 1
        out = {}
        for name, keyframe in keyframes.items():
            encoder = self.encoders.get(name)
            if encoder is None:
                tier, codec = name.rsplit("-", 1)
                spec = next(spec for spec in TIERS if spec.name == tier)
                # A new encoder's first frame is a keyframe anyway.
                encoder = self.encoders[name] = TierEncoder.from_spec(spec, FPS, codec=codec)
            out[name] = encoder.encode(canvas, pts, keyframe)
            self.stats["encodes"] += 1
            self.stats["keyframes_forced"] += keyframe
            self.stats[f"encodes_{name}"] = self.stats.get(f"encodes_{name}", 0) + 1
        return out
