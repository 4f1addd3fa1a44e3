"""The synthetic participant's media and the analysis that reads it back, without a Podium server.

Real aiortc peer connections in one process stand in for the MCU: if these pass,
an MCU test that fails is about the MCU, not about the yardstick.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from websockets.asyncio.server import ServerConnection, serve

from podium.media.audio_jitter import buffer_audio
from tests.support.analysis import (
    PALETTE,
    TONES_HZ,
    colours_present,
    draw_timestamp,
    find_timestamps,
    read_timestamp_ms,
    tones_present,
)
from tests.support.synthetic import (
    AudioRecorder,
    SyntheticParticipant,
    VideoRecorder,
    count_frames_only,
    opus_dtx_asked,
)
from tests.support.tracks import DTX_EVERY, ColourVideoTrack, ToneAudioTrack, now_ms, send_levels

RATE = 48_000


def _vp8_round_trip(frame: av.VideoFrame, bitrate: int, frames: int = 6) -> av.VideoFrame:
    """``frame`` through a real-time libvpx encoder (as the MCU's) and back; the last decoded frame."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, "yuv420p"
    encoder.bit_rate = bitrate
    encoder.time_base = Fraction(1, 15)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = None
    for pts in range(frames):
        frame.pts = pts
        for packet in encoder.encode(frame):
            for out in decoder.decode(packet):
                decoded = out
    assert isinstance(decoded, av.VideoFrame)
    return decoded


def _composite(
    tiles: list[av.VideoFrame], columns: int, width: int = 640, height: int = 360
) -> av.VideoFrame:
    """Tiles scaled into a ``columns`` x ``columns`` grid on a dark canvas, as a compositor would."""
    canvas = np.full((height, width, 3), 18, dtype=np.uint8)
    tile_w, tile_h = width // columns, height // columns
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        scaled = tile.reformat(width=tile_w, height=tile_h, format="rgb24").to_ndarray()
        canvas[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w] = scaled
    return av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p")


# ---- analysis on hand-made images and samples ------------------------------------------------------------


def test_colours_present_names_exactly_the_blocks_drawn() -> None:
    image = np.full((360, 640, 3), 40, dtype=np.uint8)
    image[20:120, 20:200] = PALETTE["maroon"]
    image[150:300, 300:500] = PALETTE["cyan"]
    image[200:340, 30:150] = PALETTE["yellow"]
    # A 4 px line of another palette colour is a border or a highlight, not a participant.
    image[5:9, :] = PALETTE["blue"]
    assert colours_present(image, PALETTE) == {"maroon", "cyan", "yellow"}


def test_tones_present_hears_440_and_880_but_not_660() -> None:
    t = np.arange(RATE) / RATE
    noise = np.random.default_rng(7).normal(0, 200, t.size)
    mix = 6000 * np.sin(2 * np.pi * 440 * t) + 6000 * np.sin(2 * np.pi * 880 * t) + noise
    candidates = {"a": 440.0, "b": 880.0, "c": 660.0}
    assert tones_present(mix.astype(np.int16), RATE, candidates) == {"a", "b"}
    # Without noise, a codec artefact 70 dB down is still far above the median spectrum: not a tone.
    clean = (
        6000 * np.sin(2 * np.pi * 440 * t)
        + 6000 * np.sin(2 * np.pi * 880 * t)
        + 2 * np.sin(2 * np.pi * 660 * t)
    )
    assert tones_present(clean, RATE, candidates) == {"a", "b"}
    assert tones_present(np.zeros(RATE, dtype=np.int16), RATE, candidates) == set()


def test_a_timestamp_reads_back_exactly_and_a_flipped_cell_is_rejected() -> None:
    luma = np.full((360, 640), 120, dtype=np.uint8)
    draw_timestamp(luma, 1_764_000_000_123, cell=16, x=16, y=16)
    draw_timestamp(luma, 1_764_000_000_456, cell=8, x=400, y=200)
    assert find_timestamps(luma) == [1_764_000_000_123, 1_764_000_000_456]
    assert read_timestamp_ms(luma, region=(320, 180, 320, 180)) == 1_764_000_000_456
    # Flip one data cell (row 3, column 5 of the first block): the CRC must refuse the block.
    y, x = 16 + 3 * 16 + 8, 16 + 6 * 16 + 8
    luma[y - 8 : y + 8, x - 8 : x + 8] = 251 - luma[y, x]
    assert find_timestamps(luma) == [1_764_000_000_456]


@pytest.mark.parametrize(("columns", "camera"), [(2, (640, 360)), (3, (640, 360)), (4, (320, 180))])
def test_colours_and_timestamps_survive_scaling_into_a_grid_and_vp8(
    columns: int, camera: tuple[int, int]
) -> None:
    names = list(PALETTE)[: columns * columns][:9]
    tracks = [ColourVideoTrack(PALETTE[name], *camera) for name in names]
    stamps = [1_764_000_000_000 + 37 * i for i in range(len(names))]
    composite = _composite([t.render(ms) for t, ms in zip(tracks, stamps, strict=True)], columns)
    # 350 kbit/s is the MCU's 640x360 tier; a 4x4 grid of 320x180 cameras scales cells to 2 px.
    received = _vp8_round_trip(composite, 350_000)
    assert colours_present(received, PALETTE) == set(names)
    assert sorted(find_timestamps(received)) == stamps


def test_an_encoded_tone_loops_without_a_seam_and_keeps_its_level() -> None:
    raw = ToneAudioTrack(740.0, 0.25)
    encoded = ToneAudioTrack(740.0, 0.25, encoded=True)
    loop = encoded.loop()
    assert len(loop) == 50  # one second of 20 ms packets
    decoder = av.CodecContext.create("libopus", "r")
    samples = []
    for data in loop * 3:  # three seconds, across two seams
        for frame in decoder.decode(av.Packet(data)):
            assert frame.format.name == "s16"  # packed: one channel of the (up-mixed) pair
            samples.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0])
    pcm = np.concatenate(samples).astype(np.float64)
    assert tones_present(pcm[RATE:], RATE, {"tone": 740.0, "other": 470.0}) == {"tone"}
    # The level matches the raw tone's (within 1 dB), in every 20 ms, seams included.
    expected = float(np.sqrt(np.mean(raw.render(0).to_ndarray().astype(np.float64) ** 2)))
    frames = pcm[RATE : 3 * RATE].reshape(-1, 960)
    levels = np.sqrt(np.mean(frames**2, axis=1))
    assert np.all(np.abs(20 * np.log10(levels / expected)) < 1.0), levels.min()
    # Another amplitude: another loop, encoded once.
    encoded.amplitude = 0.0
    assert encoded.loop() is not loop and encoded.loop() is encoded.loop()


async def test_a_silent_tone_with_dtx_sends_one_packet_per_400_ms_and_speech_all_of_them() -> None:
    tone = ToneAudioTrack(740.0, 0.0, encoded=True)
    tone.dtx = True  # what an answer with usedtx=1 turns on
    silent = [await tone.recv() for _ in range(3)]  # 0.8 s of silence: three packets, 400 ms apart
    assert [p.pts for p in silent] == [0, DTX_EVERY * 960, 2 * DTX_EVERY * 960]
    assert tone.level_dbov == -127 and tone.dtx_skipped == 2 * (DTX_EVERY - 1)
    tone.amplitude = 0.25  # talking again: every 20 ms, at once
    talking = [await tone.recv() for _ in range(3)]
    steps = [int(b.pts or 0) - int(a.pts or 0) for a, b in itertools.pairwise([silent[-1], *talking])]
    assert steps[1:] == [960, 960] and steps[0] <= DTX_EVERY * 960, steps
    assert tone.level_dbov > -20
    tone.stop()


def test_dtx_is_honoured_only_where_the_answer_asks_for_it() -> None:
    audio = "m=audio 9 UDP/TLS/RTP/SAVPF 96 0\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
    asked = audio + "a=fmtp:96 usedtx=1;minptime=10\r\n"
    video = "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=fmtp:97 usedtx=1\r\n"
    assert opus_dtx_asked("v=0\r\n" + asked + video)
    assert not opus_dtx_asked("v=0\r\n" + audio + video)  # usedtx on another section's codec


def test_audio_recorder_keeps_the_last_seconds_in_order_as_mono() -> None:
    recorder = AudioRecorder(keep_s=1.0)
    for index in range(75):  # 1.5 s of 20 ms frames, packed stereo as aiortc's Opus decoder gives them
        ramp = np.arange(index * 960, (index + 1) * 960) % 30000
        frame = av.AudioFrame.from_ndarray(
            np.repeat(ramp, 2).reshape(1, -1).astype(np.int16), format="s16", layout="stereo"
        )
        frame.sample_rate = RATE
        recorder._on_frame(frame)
    last = recorder.samples(0.5)
    assert last.size == RATE // 2
    assert np.array_equal(last, (np.arange(75 * 960 - RATE // 2, 75 * 960) % 30000).astype(np.int16))


# ---- the tracks over a real peer connection ---------------------------------------------------------------


async def _connect(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


@contextlib.asynccontextmanager
async def _link(
    audio_in: AudioRecorder | None = None, video_in: VideoRecorder | None = None
) -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection]]:
    """A sending and a receiving aiortc peer; what arrives goes to the recorders. Add tracks to
    the sender, then ``_connect``; on the way out the recorders stop and both peers close."""
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    @receiver.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        recorder = video_in if track.kind == "video" else audio_in
        if recorder is not None:
            recorder.start(track)

    try:
        yield sender, receiver
    finally:
        for recorder in (video_in, audio_in):
            if recorder is not None:
                await recorder.stop()
        await sender.close()
        await receiver.close()


async def test_a_gated_pre_encoded_tone_times_the_audio_path() -> None:
    audio_in = AudioRecorder(onset_hz=TONES_HZ[2])
    async with _link(audio_in) as (sender, receiver):
        sender.addTrack(ToneAudioTrack(TONES_HZ[2], encoded=True, gated=True))
        await _connect(sender, receiver)
        await audio_in.wait_seconds(3.5, timeout=20)
        # A start every second, each timed: loopback, aiortc's 80 ms audio jitter buffer, a frame.
        assert len(audio_in.onset_latencies_ms) >= 2, audio_in.onset_latencies_ms
        assert all(20 <= ms <= 400 for ms in audio_in.onset_latencies_ms), audio_in.onset_latencies_ms
        # Half of each second is silence: the tone is heard in the on half only.
        assert tones_present(audio_in.samples(2.0), RATE, {"tone": TONES_HZ[2]}) == {"tone"}


async def test_a_pre_encoded_tone_carries_its_level_so_the_node_leaves_its_silence_undecoded() -> None:
    audio_in = AudioRecorder(onset_hz=TONES_HZ[2])
    async with _link(audio_in) as (sender, receiver):
        tone = ToneAudioTrack(TONES_HZ[2], encoded=True, gated=True)
        send_levels(sender.addTrack(tone), tone)
        await _connect(sender, receiver)
        buffer = buffer_audio(receiver.getTransceivers()[0].receiver)  # the node's, before any packet
        await audio_in.wait_seconds(2.0, timeout=20)
        # The silent half of each second (25 packets, less the 200 ms hangover) is never decoded...
        assert buffer.skipped >= 10, buffer.skipped
        # ...and every start of the tone still is, at once.
        assert len(audio_in.onset_latencies_ms) >= 2, audio_in.onset_latencies_ms
        assert all(20 <= ms <= 400 for ms in audio_in.onset_latencies_ms), audio_in.onset_latencies_ms


async def test_a_counting_receiver_measures_frame_rate_and_audio_without_decoding() -> None:
    video_in, audio_in = VideoRecorder(latency_hz=5), AudioRecorder()
    async with _link(audio_in, video_in) as (sender, receiver):
        sender.addTrack(ToneAudioTrack(TONES_HZ[3]))
        sender.addTrack(ColourVideoTrack(PALETTE["orchid"], fps=15))
        await _connect(sender, receiver)
        audio, video = (t.receiver for t in receiver.getTransceivers())
        count_frames_only(video, video_in)
        count_frames_only(audio, audio_in)
        await video_in.wait_frames(10, timeout=20)
        await audio_in.wait_seconds(1.0, timeout=20)
        started = audio_in.seconds_received
        await asyncio.sleep(2.0)
        # Roughly the rates sent (15 fps, 50 packets/s), allowing for a busy machine.
        assert 8 <= video_in.fps(2.0) <= 17, video_in.fps(2.0)
        assert 1.0 <= audio_in.seconds_received - started <= 2.4, audio_in.seconds_received - started
        # Nothing reached a decoder: no picture to read timestamps from, no samples.
        assert video_in.latest_frame is None and video_in.probes == 0
        assert not audio_in.samples(1.0).any()


async def test_colour_timestamp_and_tone_cross_a_real_webrtc_link() -> None:
    video_in, audio_in = VideoRecorder(latency_hz=5), AudioRecorder()
    video, audio = ColourVideoTrack(PALETTE["orchid"]), ToneAudioTrack(TONES_HZ[3])
    async with _link(audio_in, video_in) as (sender, receiver):
        sender.addTrack(audio)
        sender.addTrack(video)
        await _connect(sender, receiver)
        await video_in.wait_frames(5, timeout=20)
        await audio_in.wait_seconds(1.2, timeout=20)
        frame = video_in.latest_frame
        assert frame is not None
        assert colours_present(frame, PALETTE) == {"orchid"}
        stamps = find_timestamps(frame)
        assert len(stamps) == 1
        assert 0 <= now_ms() - stamps[0] <= 1000
        assert video_in.latencies_ms
        assert all(0 <= ms <= 1000 for ms in video_in.latencies_ms)
        heard = tones_present(audio_in.samples(1.0), RATE, {"own": TONES_HZ[3], "other": TONES_HZ[6]})
        assert heard == {"own"}

        video.pause()  # what media.visible false does: nothing more is sent
        await asyncio.sleep(0.3)
        paused_at = video_in.frames
        await asyncio.sleep(0.5)
        assert video_in.frames == paused_at
        video.resume()
        await video_in.wait_frames(paused_at + 3, timeout=10)

        audio.amplitude = 0.0
        await audio_in.wait_seconds(audio_in.seconds_received + 0.8, timeout=10)
        assert tones_present(audio_in.samples(0.5), RATE, {"own": TONES_HZ[3]}) == set()


# ---- the participant against a stand-in for Podium's MCU signalling ---------------------------------------


@dataclass
class FakeMcu:
    """Speaks the MCU part of the realtime protocol: answers offers with a yellow 'composite' and a tone."""

    url: str = ""
    sockets: list[ServerConnection] = field(default_factory=list)
    pcs: list[RTCPeerConnection] = field(default_factory=list)
    uplink: VideoRecorder = field(default_factory=VideoRecorder)

    async def handle(self, socket: ServerConnection) -> None:
        self.sockets.append(socket)
        await socket.send(json.dumps({"type": "welcome", "you": {"id": "p-1"}, "media_mode": "mcu"}))
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "media.offer":
                answer = await self.answer(message["sdp"])
                await socket.send(json.dumps({"type": "media.answer", "sdp": answer}))
                await socket.send(json.dumps({"type": "ack", "ref": message["ref"], "id": None}))

    async def answer(self, offer: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self.uplink.start(track)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        pc.addTrack(ToneAudioTrack(TONES_HZ[8]))
        pc.addTrack(ColourVideoTrack(PALETTE["yellow"], 320, 180))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def event(self, message: dict[str, Any]) -> None:
        await self.sockets[-1].send(json.dumps(message))


@pytest.fixture
async def fake_mcu() -> AsyncIterator[FakeMcu]:
    mcu = FakeMcu()
    async with serve(mcu.handle, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        mcu.url = f"ws://127.0.0.1:{port}"
        yield mcu
        await mcu.uplink.stop()
        for pc in mcu.pcs:
            await pc.close()


async def _until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_participant_follows_the_mcu_signalling(fake_mcu: FakeMcu) -> None:
    p = await SyntheticParticipant.connect(
        fake_mcu.url, "acme", "town-hall", "token", "ada", PALETTE["cyan"], TONES_HZ[0], width=320, height=180
    )
    try:
        await p.wait_mcu_connected(timeout=20)
        await p.wait_frames(3, timeout=20)
        assert p.latest_frame is not None
        assert colours_present(p.latest_frame, PALETTE) == {"yellow"}
        await fake_mcu.uplink.wait_frames(3, timeout=20)
        assert fake_mcu.uplink.latest_frame is not None
        assert colours_present(fake_mcu.uplink.latest_frame, PALETTE) == {"cyan"}
        await p.audio_in.wait_seconds(0.6, timeout=10)
        assert tones_present(p.audio_samples(0.5), RATE, {"mix": TONES_HZ[8], "own": TONES_HZ[0]}) == {"mix"}

        await fake_mcu.event({"type": "media.visible", "video": False})
        await _until(lambda: p.video_out is not None and p.video_out.paused)
        await fake_mcu.event({"type": "media.visible", "video": True})
        await _until(lambda: p.video_out is not None and not p.video_out.paused)

        await fake_mcu.event({"type": "media.mode", "mode": "p2p"})
        await _until(lambda: p.pc is None and not p.mcu_connected)
        await fake_mcu.event({"type": "media.mode", "mode": "mcu"})
        await _until(lambda: len(fake_mcu.pcs) == 2)
        await p.wait_mcu_connected(timeout=20)

        await fake_mcu.event({"type": "media.failed", "code": "media_lost", "message": "gone"})
        await _until(lambda: len(fake_mcu.pcs) == 3)
        await p.wait_mcu_connected(timeout=20)
        assert p.mcu_connections == 3
        # Media events reach the test too; the participant's own offer acks do not.
        assert (await p.member.next("media.mode", mode="mcu"))["mode"] == "mcu"
        assert not [m for m in await p.member.quiet(0.1) if m["type"] == "ack"]
    finally:
        await p.leave()
    assert p.pc is None
