"""The MCU composite: who is shown where, names and mute placeholders, and the encoded tiers."""

from __future__ import annotations

import io
from collections.abc import Sequence

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image as PilImage

from podium.media.compositor import BACKGROUND_RGB, HIGHLIGHT_RGB, Compositor, TileInput
from podium.media.encoder import TIERS, VIDEO_TIME_BASE, TierEncoder
from podium.media.labels import PLACEHOLDER_RGB
from podium.media.layout import LayoutFn, LayoutRequest, TileRect, grid, select_visible, speaker
from podium.media.session import MediaError, decode_still

RGB = tuple[int, int, int]
Image = npt.NDArray[np.uint8]

COLOURS: dict[str, RGB] = {
    "ada": (220, 30, 30),
    "bob": (30, 200, 40),
    "cy": (40, 60, 220),
    "dee": (230, 220, 40),
    "eve": (40, 210, 220),
    "fay": (210, 40, 200),
    "gus": (240, 140, 20),
    "hal": (120, 40, 200),
}
NAMES = {pid: f"{pid.title()} Example" for pid in COLOURS}


def solid(rgb: RGB, width: int = 640, height: int = 360) -> av.VideoFrame:
    """A camera frame of one colour, as a decoder would hand it over (yuv420p)."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[...] = rgb
    return av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")


FRAMES = {pid: solid(rgb) for pid, rgb in COLOURS.items()}


def tiles(ids: Sequence[str], muted: Sequence[str] = (), speaking: str | None = None) -> list[TileInput]:
    return [
        TileInput(pid, NAMES[pid], FRAMES[pid], video_muted=pid in muted, speaking=pid == speaking)
        for pid in ids
    ]


def rgb(frame: av.VideoFrame) -> Image:
    return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def centre(image: Image, rect: TileRect, scale: float = 1.0) -> RGB:
    pixel = image[int((rect.y + rect.h // 2) * scale), int((rect.x + rect.w // 2) * scale)]
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def close(actual: Sequence[int], expected: Sequence[int], tolerance: int) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def layout_of(ids: Sequence[str], width: int = 1280, height: int = 720) -> dict[str, TileRect]:
    return {rect.participant_id: rect for rect in grid(LayoutRequest(ids, None, width, height))}


def test_grid_shows_each_participant_in_their_tile_with_their_name() -> None:
    ids = list(COLOURS)
    image = rgb(Compositor().compose(tiles(ids)))
    assert image.shape == (720, 1280, 3)
    for pid, rect in layout_of(ids).items():
        assert close(centre(image, rect), COLOURS[pid], 10), pid
        # The name sits bottom-left: white text on a darkened box, unlike the pure colour.
        label = image[rect.y + rect.h * 3 // 4 : rect.y + rect.h - 2, rect.x + 2 : rect.x + rect.w // 2]
        text = (label.min(axis=2) > 200).sum()
        assert text > 50, pid
        assert (np.abs(label.astype(int) - COLOURS[pid]).max(axis=2) > 60).sum() > 500, pid


def test_muted_participant_shows_placeholder_with_initials_not_their_video() -> None:
    ids = ["ada", "bob", "cy", "dee"]
    image = rgb(Compositor().compose(tiles(ids, muted=["bob"])))
    rect = layout_of(ids)["bob"]
    assert not close(centre(image, rect, 1.0), COLOURS["bob"], 60)
    corner = image[rect.y + 12, rect.x + rect.w - 12]
    assert close(tuple(int(c) for c in corner), PLACEHOLDER_RGB, 6)
    middle = image[
        rect.y + rect.h // 3 : rect.y + rect.h * 2 // 3, rect.x + rect.w // 3 : rect.x + rect.w * 2 // 3
    ]
    assert (middle.min(axis=2) > 220).sum() > 100, "initials are drawn in the middle"
    assert close(centre(image, layout_of(ids)["ada"]), COLOURS["ada"], 10)


def test_participant_without_a_frame_yet_shows_the_placeholder() -> None:
    ids = ["ada", "bob"]
    waiting = [TileInput("ada", NAMES["ada"], None), *tiles(["bob"])]
    image = rgb(Compositor().compose(waiting))
    corner = image[layout_of(ids)["ada"].y + 12, layout_of(ids)["ada"].x + 12]
    assert close(tuple(int(c) for c in corner), PLACEHOLDER_RGB, 6)


def test_portrait_camera_fills_its_tile_with_its_middle() -> None:
    # A phone held upright: red top and bottom bands, green middle. Cover-crop keeps the middle.
    pixels = np.empty((640, 360, 3), dtype=np.uint8)
    pixels[...] = COLOURS["ada"]
    pixels[160:480] = COLOURS["bob"]
    phone = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
    ids = ["ada", "bob"]
    image = rgb(Compositor().compose([TileInput("ada", "Ada", phone), *tiles(["bob"])]))
    rect = layout_of(ids)["ada"]
    assert close(centre(image, rect), COLOURS["bob"], 10)
    for x in (rect.x + 2, rect.x + rect.w - 3):
        # Edge to edge: no bars beside a portrait picture.
        assert close(tuple(int(c) for c in image[rect.y + rect.h // 2, x]), COLOURS["bob"], 10)


def test_speaking_tile_gets_a_highlight_border() -> None:
    ids = ["ada", "bob"]
    image = rgb(Compositor().compose(tiles(ids, speaking="bob")))
    rects = layout_of(ids)
    edge = image[rects["bob"].y + rects["bob"].h // 2, rects["bob"].x + 1]
    assert close(tuple(int(c) for c in edge), HIGHLIGHT_RGB, 12)
    quiet_edge = image[rects["ada"].y + rects["ada"].h // 2, rects["ada"].x + 1]
    assert close(tuple(int(c) for c in quiet_edge), COLOURS["ada"], 10)


def test_new_frames_and_layout_changes_repaint_only_what_they_should() -> None:
    compositor = Compositor()
    four = ["ada", "bob", "cy", "dee"]
    first = compositor.compose(tiles(four))
    before = rgb(first)
    # Bob's camera now shows another colour; the first composite must not change.
    second = compositor.compose(
        [*tiles(["ada"]), TileInput("bob", NAMES["bob"], solid(COLOURS["hal"])), *tiles(["cy", "dee"])]
    )
    assert close(centre(rgb(second), layout_of(four)["bob"]), COLOURS["hal"], 10)
    assert np.array_equal(rgb(first), before)
    # Two leave: their old tiles are background now, the rest are re-laid out.
    two = ["ada", "cy"]
    image = rgb(compositor.compose(tiles(two)))
    for pid, rect in layout_of(two).items():
        assert close(centre(image, rect), COLOURS[pid], 10)
    assert close(tuple(int(c) for c in image[40, 40]), BACKGROUND_RGB, 6)


def test_speaker_layout_gives_the_speaker_the_largest_tile() -> None:
    ids = list(COLOURS)
    rects = speaker(LayoutRequest(ids, "eve", 1280, 720))
    areas = {rect.participant_id: rect.w * rect.h for rect in rects}
    assert max(areas, key=lambda pid: areas[pid]) == "eve"
    assert sorted(areas) == sorted(ids)
    image = rgb(Compositor(layout=speaker).compose(tiles(ids, speaking="eve")))
    big = next(rect for rect in rects if rect.participant_id == "eve")
    assert close(centre(image, big), COLOURS["eve"], 10)


def test_a_content_tile_leads_the_speaker_layout_whole_and_unlabelled() -> None:
    # A 4:3 slide: white with a red frame at its very edges, which cover-cropping would lose.
    pixels = np.full((480, 640, 3), 255, dtype=np.uint8)
    pixels[:24], pixels[-24:], pixels[:, :24], pixels[:, -24:] = [COLOURS["ada"]] * 4
    slide = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
    content = TileInput("@content", "", slide, content=True)
    image = rgb(Compositor(layout=speaker).compose([content, *tiles(["bob", "cy"], speaking="bob")]))
    rects = speaker(LayoutRequest(["@content", "bob", "cy"], "bob", 1280, 720, content="@content"))
    big = rects[0]
    assert big.participant_id == "@content" and big.w * big.h > 3 * rects[1].w * rects[1].h
    # Fitted whole: the red frame shows left and right of the white page, black bars beyond it.
    fit_w = big.h * 4 // 3
    left = big.x + (big.w - fit_w) // 2
    row = image[big.y + big.h // 2]
    assert close(tuple(int(c) for c in row[left + 6]), COLOURS["ada"], 12)
    assert close(tuple(int(c) for c in row[left + fit_w - 7]), COLOURS["ada"], 12)
    assert row[big.x + 4].max() < 24, "black bars beside the page"
    assert close(centre(image, big), (255, 255, 255), 6)
    # No name label over the slide: its bottom-left corner is the page's own white and red.
    corner = image[big.y + big.h - 40 : big.y + big.h - 30, left + 30 : left + 200]
    assert corner.min() > 200


def test_content_images_are_decoded_to_fit_the_canvas_or_refused() -> None:
    png = io.BytesIO()
    PilImage.new("RGB", (2560, 1920), COLOURS["cy"]).save(png, "PNG")
    still = decode_still(png.getvalue())
    assert (still.width, still.height, still.format.name) == (960, 720, "yuv420p")
    assert close(tuple(int(c) for c in rgb(still)[360, 480]), COLOURS["cy"], 6)
    with pytest.raises(MediaError) as refused:
        decode_still(b"GIF89a, or rather not")
    assert refused.value.code == "invalid_image"


@pytest.mark.parametrize("layout", [grid, speaker])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 9, 16])
def test_layouts_place_even_disjoint_tiles_inside_the_canvas(layout: LayoutFn, count: int) -> None:
    ids = [f"p{i}" for i in range(count)]
    rects = layout(LayoutRequest(ids, "p1", 1280, 720))
    assert [rect.participant_id for rect in rects] != [] and len(rects) == count
    for i, a in enumerate(rects):
        assert all(v % 2 == 0 for v in (a.x, a.y, a.w, a.h))
        assert a.x >= 0 and a.y >= 0 and a.x + a.w <= 1280 and a.y + a.h <= 720
        for b in rects[i + 1 :]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y


def test_select_visible_puts_pinned_then_speakers_then_join_order_and_caps_at_last_n() -> None:
    order = [f"p{i}" for i in range(12)]
    assert select_visible(order, speakers=["p9", "p4"], pinned=["p11"], last_n=5) == [
        "p11",
        "p9",
        "p4",
        "p0",
        "p1",
    ]
    # People who left are ignored wherever they are listed.
    assert select_visible(order[:3], speakers=["gone"], pinned=["gone"], last_n=9) == ["p0", "p1", "p2"]


def test_select_visible_keeps_slots_when_a_new_speaker_appears() -> None:
    order = [f"p{i}" for i in range(12)]
    shown = select_visible(order, speakers=["p9", "p4"], pinned=["p11"], last_n=5)
    # p7 starts talking: the least-recent shown (p1, never spoke) gives up its slot to p7.
    after = select_visible(order, speakers=["p7", "p9", "p4"], pinned=["p11"], last_n=5, previous=shown)
    assert after == ["p11", "p9", "p4", "p0", "p7"]
    # p0 talks: already shown, so nobody moves.
    again = select_visible(order, speakers=["p0", "p7", "p9", "p4"], pinned=["p11"], last_n=5, previous=after)
    assert again == after
    # p8 talks next: p4 is now the least-recent speaker, and p8 takes exactly its slot.
    later = select_visible(
        order, speakers=["p8", "p0", "p7", "p9", "p4"], pinned=["p11"], last_n=5, previous=again
    )
    assert later == ["p11", "p9", "p8", "p0", "p7"]


def test_both_tiers_decode_to_their_size_with_the_tiles_in_place() -> None:
    ids = list(COLOURS)
    canvas = Compositor().compose(tiles(ids))
    rects = layout_of(ids)
    for spec in TIERS:
        encoder = TierEncoder.from_spec(spec, fps=15)
        decoder = av.CodecContext.create("vp8", "r")
        decoded: list[av.VideoFrame] = []
        for i in range(3):
            for packet in encoder.encode(canvas, pts=i * 6000):
                assert packet.time_base == VIDEO_TIME_BASE and packet.pts == i * 6000
                decoded += decoder.decode(packet)
        assert decoded, spec.name
        frame = decoded[-1]
        assert (frame.width, frame.height) == (spec.width, spec.height)
        image = rgb(frame)
        for pid, rect in rects.items():
            assert close(centre(image, rect, spec.width / 1280), COLOURS[pid], 24), (spec.name, pid)


def test_keyframes_come_first_and_on_request_only() -> None:
    spec = TIERS[1]
    encoder = TierEncoder.from_spec(spec, fps=15)
    compositor = Compositor()
    kinds = []
    for i in range(6):
        canvas = compositor.compose(tiles(["ada", "bob"], speaking="ada" if i % 2 else "bob"))
        packets = encoder.encode(canvas, pts=i * 6000, keyframe=i == 4)
        assert len(packets) == 1
        kinds.append(packets[0].is_keyframe)
    assert kinds == [True, False, False, False, True, False]
