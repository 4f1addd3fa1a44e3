"""What a synthetic participant can tell from the media it receives: colours, drawn timestamps, tones.

Pure functions over ``av.VideoFrame``s (or numpy images) and numpy sample arrays, so
the same checks run on a composite from the MCU, on a frame from an in-process
peer connection, or on a hand-made array in a unit test.

**Timestamp block.** Every synthetic video frame carries the wall-clock time it was
made (``time.time_ns() // 1_000_000``, milliseconds) as a grid of black and white
square cells near its top-left corner, so a receiver can measure one-way latency
through the MCU after it has scaled, composited and re-encoded the tile.
With ``c`` the cell size (16 px on a 640x360 frame) the block is 18 x 7 cells:

- a one-cell black border all around (so the block reads the same on a light or a dark tile);
- row 1, the *timing row*: 16 cells alternating white, black, ... (white first); the
  decoder finds the block by this run of equal-length stripes and measures the cell
  pitch from it, so it needs no knowledge of the tile's position or scale;
- rows 2-5, the *data rows*: 64 bits, 16 per row, most significant first, white = 1:
  48 bits of the millisecond timestamp, then a CRC-16/CCITT-FALSE of those 6 bytes.

The CRC matters: a block misread at a small scale is rejected instead of turning
into a wild latency figure. Measured through scaling and VP8 (150 kbit/s and up),
blocks read down to 2 px per cell: a 640x360 camera scaled by 1/8, or a 320x180
one (8 px cells) by 1/4. Through ``podium.media``'s compositor and tier encoders
that is every tile of the grid layout at both tiers, and the speaker layout's
large tile; its strip of eight small tiles on the 640x360 tier (~1.75 px cells) is
below the limit. Rows are expected one cell pitch apart (the tile kept its aspect
ratio); a stretched tile is tried with the row pitch its timing row's height gives.
The block is luma only: its chroma is neutral, so it never counts as a colour.

The sender's own encoder matters too: 16 px cells (a 640x360 camera) fill whole
16x16 VP8 macroblocks and come through aiortc's encoder intact; 8 px cells (a
320x180 camera) share macroblocks, and aiortc's temporal denoiser smears a few
percent of blocks, which the CRC then rejects (no wrong value was ever read).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import av
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

__all__ = [
    "BLOCK_CELLS",
    "PALETTE",
    "TONES_HZ",
    "Image",
    "Stamp",
    "colour_fractions",
    "colours_present",
    "draw_timestamp",
    "find_timestamps",
    "locate_timestamps",
    "read_timestamp_ms",
    "rgb_to_yuv",
    "timestamp_cells",
    "tone_levels",
    "tones_present",
]

#: An image to analyse: a decoded frame, an RGB array (H, W, 3) or a luma array (H, W).
Image = av.VideoFrame | NDArray[np.uint8]

#: Ten participant colours, >= 127 apart in RGB and >= 80 from every grey and from the colours the
#: compositor paints itself (background, placeholders, avatars, the speaking highlight), so that
#: VP8's colour error (a few units on flat areas) never makes one read as another. Ordered so
#: that any first N are as far apart as possible.
PALETTE: dict[str, tuple[int, int, int]] = {
    "maroon": (150, 25, 20),
    "cyan": (20, 235, 235),
    "orchid": (235, 110, 235),
    "yellow": (235, 235, 40),
    "blue": (20, 20, 195),
    "green": (20, 225, 20),
    "mint": (120, 225, 130),
    "salmon": (235, 105, 95),
    "purple": (155, 20, 170),
    "periwinkle": (110, 145, 230),
}

#: Ten tone frequencies >= 150 Hz apart, chosen so that no tone lies within 25 Hz of another's
#: octave or of a second-order product (a+b, a-b, 2a-b) of two others: a mixer that clips or
#: limits a sum of tones then creates no false "present" tone.
TONES_HZ: tuple[float, ...] = (300.0, 470.0, 740.0, 970.0, 1120.0, 1340.0, 1530.0, 1680.0, 1890.0, 2050.0)

# ---- timestamp block -------------------------------------------------------------------------------------

_COLS = 16
_DATA_ROWS = 4
#: The block in cells, border included: (columns, rows).
BLOCK_CELLS = (_COLS + 2, _DATA_ROWS + 3)
_TS_BITS = 48
_BLACK = 16  # video-range luma, as an encoder expects for yuv420p
_WHITE = 235
#: The timing row as runs: cells 0..14 are equal runs; cell 15 (black) merges with the border.
_TIMING_RUNS = _COLS - 1
#: Cells narrower than this (pixels) cannot survive scaling and VP8: such "blocks" are noise.
_MIN_PITCH = 1.75
#: Below this black/white separation a candidate block is noise, not a block.
_MIN_CONTRAST = 40.0


@dataclass(frozen=True)
class Stamp:
    """A timestamp block found in a frame: its value and where it is (pixels of that frame)."""

    ms: int
    x: float
    y: float
    cell: float


def _crc(ms: int) -> int:
    return binascii.crc_hqx(ms.to_bytes(6, "big"), 0xFFFF)


def timestamp_cells(ms: int) -> NDArray[np.bool_]:
    """The block as cells (rows, columns), True = white, for a millisecond timestamp."""
    cols, rows = BLOCK_CELLS
    cells = np.zeros((rows, cols), dtype=np.bool_)
    cells[1, 1 : 1 + _COLS] = np.arange(_COLS) % 2 == 0
    word = ((ms % (1 << _TS_BITS)) << 16) | _crc(ms % (1 << _TS_BITS))
    bits = np.array([(word >> (63 - i)) & 1 for i in range(64)], dtype=np.bool_)
    cells[2 : 2 + _DATA_ROWS, 1 : 1 + _COLS] = bits.reshape(_DATA_ROWS, _COLS)
    return cells


def draw_timestamp(luma: NDArray[np.uint8], ms: int, cell: int, x: int, y: int) -> None:
    """Draw the block for ``ms`` into a luma plane, top-left corner at (x, y), in place."""
    cells = timestamp_cells(ms)
    block = np.where(np.kron(cells, np.ones((cell, cell), dtype=np.bool_)), _WHITE, _BLACK)
    luma[y : y + block.shape[0], x : x + block.shape[1]] = block


def _luma(image: Image) -> NDArray[np.uint8]:
    if isinstance(image, av.VideoFrame):
        frame = image if image.format.name == "yuv420p" else image.reformat(format="yuv420p")
        planes = np.asarray(frame.to_ndarray(), dtype=np.uint8)
        return planes[: frame.height]
    if image.ndim == 2:
        return image
    # BT.601 luma of an RGB array; the decoder adapts to its range, so limited vs full does not matter.
    rgb = image.astype(np.float32)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    out: NDArray[np.uint8] = np.clip(luma, 0, 255).astype(np.uint8)
    return out


def _row_candidates(bits: NDArray[np.bool_]) -> list[tuple[float, float]]:
    """(x of the first timing cell, cell pitch) for each timing-row look-alike in one row of pixels."""
    edges = np.flatnonzero(bits[1:] != bits[:-1]) + 1
    if len(edges) < _TIMING_RUNS + 1:
        return []
    lengths = np.diff(edges)
    windows = sliding_window_view(lengths, _TIMING_RUNS)
    shortest = windows.min(axis=1)
    longest = windows.max(axis=1)
    starts_white = bits[edges[: len(windows)]]
    # Equal stripes, blurred by scaling and VP8 by about a pixel each way.
    regular = starts_white & (longest >= 2) & (longest <= 1.5 * shortest + 1.5)
    # Least-squares line through each candidate's stripe boundaries (x = x0 + pitch * step), all at once.
    starts = np.flatnonzero(regular)
    if not len(starts):
        return []
    steps = np.arange(_TIMING_RUNS + 1, dtype=np.float64)
    boundaries = sliding_window_view(edges, _TIMING_RUNS + 1)[starts].astype(np.float64)
    centred = steps - steps.mean()
    pitches = boundaries @ centred / (centred @ centred)
    x0s = boundaries.mean(axis=1) - pitches * steps.mean()
    return [(float(x0), float(pitch)) for x0, pitch in zip(x0s, pitches, strict=True) if pitch >= _MIN_PITCH]


@dataclass
class _Band:
    x0: float
    pitch: float
    top: int
    bottom: int
    count: int = 1


def _bands(luma: NDArray[np.uint8]) -> list[_Band]:
    """Timing-row candidates, with the pixel rows that see the same stripes merged into one band."""
    bits = luma > 128
    # Only rows with enough black/white changes can hold a timing row: skip the rest cheaply.
    changes = np.count_nonzero(bits[:, 1:] != bits[:, :-1], axis=1)
    bands: list[_Band] = []
    for y in np.flatnonzero(changes >= _TIMING_RUNS + 1):
        for x0, pitch in _row_candidates(bits[y]):
            for band in bands:
                if (
                    y - band.bottom <= 2
                    and abs(x0 - band.x0) < band.pitch / 2
                    and abs(pitch - band.pitch) < band.pitch / 4
                ):
                    band.bottom = int(y)
                    band.x0 += (x0 - band.x0) / (band.count + 1)
                    band.pitch += (pitch - band.pitch) / (band.count + 1)
                    band.count += 1
                    break
            else:
                bands.append(_Band(x0, pitch, int(y), int(y)))
    return bands


class _Boxes:
    """Mean luma of square patches, many at once, from one summed-area table of the image.

    int32 sums hold images up to 8 megapixels of 255s."""

    def __init__(self, luma: NDArray[np.uint8]) -> None:
        self.height, self.width = luma.shape
        self._sums = np.zeros((self.height + 1, self.width + 1), dtype=np.int32)
        self._sums[1:, 1:] = luma.cumsum(axis=0, dtype=np.int32).cumsum(axis=1)

    def means(self, x: NDArray[np.floating], y: NDArray[np.floating], radius: int) -> NDArray[np.float64]:
        """Mean of the (2 * radius + 1)-pixel square around each (x, y), clipped; NaN off the image."""
        x, y = np.broadcast_arrays(np.rint(x), np.rint(y))
        inside = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
        x0 = np.clip(x - radius, 0, self.width).astype(np.intp)
        x1 = np.clip(x + radius + 1, 0, self.width).astype(np.intp)
        y0 = np.clip(y - radius, 0, self.height).astype(np.intp)
        y1 = np.clip(y + radius + 1, 0, self.height).astype(np.intp)
        s = self._sums
        total = s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]
        area = np.maximum((x1 - x0) * (y1 - y0), 1)
        return np.where(inside, total / area, np.nan)


def _decode_band(boxes: _Boxes, band: _Band) -> Stamp | None:
    centre_y = (band.top + band.bottom) / 2
    # Columns -1 and 16 are the border, 0..15 the cells.
    columns = band.x0 + (np.arange(-1, _COLS + 1) + 0.5) * band.pitch
    radius = int(band.pitch * 0.2)
    timing = boxes.means(columns[1 : 1 + _TIMING_RUNS], np.full(_TIMING_RUNS, centre_y), radius)
    white, black = float(np.mean(timing[0::2])), float(np.mean(timing[1::2]))
    if not white - black >= _MIN_CONTRAST:  # also false for NaN (the block runs off the image)
        return None
    threshold = (white + black) / 2
    # Rows are one pitch apart when the tile kept its aspect ratio; the band's own height is a
    # second guess should a compositor have stretched it.
    for row_pitch in dict.fromkeys((band.pitch, float(band.bottom - band.top + 1))):
        # Rows -1 (top border), 1..4 (data) and 5 (bottom border), relative to the timing row.
        rows = centre_y + np.arange(-1, 6, dtype=np.float64)[:, None] * row_pitch
        grid = boxes.means(columns[None, :], rows, radius)
        if np.isnan(grid).any():
            continue
        bright = grid > threshold
        border = np.concatenate([bright[0], bright[-1], bright[1:-1, 0], bright[1:-1, -1]])
        # A real block has a black frame around it: noise that happens to look like a timing row
        # almost never does, which keeps false reads far below the CRC's 1 in 65536 alone.
        if np.count_nonzero(border) > len(border) // 10:
            continue
        word = 0
        for bit in bright[2:-1, 1:-1].ravel():
            word = (word << 1) | int(bit)
        ms, crc = word >> 16, word & 0xFFFF
        if _crc(ms) == crc:
            return Stamp(ms=ms, x=band.x0 - band.pitch, y=centre_y - 1.5 * row_pitch, cell=band.pitch)
    return None


def locate_timestamps(image: Image) -> list[Stamp]:
    """Every readable timestamp block in an image, top to bottom, left to right."""
    luma = _luma(image)
    stamps: list[Stamp] = []
    bands = _bands(luma)
    boxes = _Boxes(luma) if bands else None
    for band in bands:
        assert boxes is not None
        stamp = _decode_band(boxes, band)
        # A band split by a noisy pixel row decodes twice: keep one.
        if stamp is not None and not any(
            abs(stamp.x - s.x) < s.cell and abs(stamp.y - s.y) < s.cell for s in stamps
        ):
            stamps.append(stamp)
    return sorted(stamps, key=lambda s: (round(s.y / max(s.cell, 1.0)), s.x))


def find_timestamps(image: Image) -> list[int]:
    """The millisecond timestamps drawn on an image's tiles (those that can be read)."""
    return [stamp.ms for stamp in locate_timestamps(image)]


def read_timestamp_ms(image: Image, region: tuple[int, int, int, int] | None = None) -> int | None:
    """The timestamp drawn in ``region`` (x, y, width, height) of an image, or None if unreadable."""
    luma = _luma(image)
    if region is not None:
        x, y, w, h = region
        luma = luma[y : y + h, x : x + w]
    stamps = locate_timestamps(luma)
    return stamps[0].ms if stamps else None


# ---- colours ---------------------------------------------------------------------------------------------


def rgb_to_yuv(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 video-range Y, Cb, Cr of an RGB colour (what swscale assumes for yuv420p)."""
    r, g, b = colour
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(cb), round(cr)


def _rgb(image: Image) -> NDArray[np.uint8]:
    if isinstance(image, av.VideoFrame):
        return np.asarray(image.to_ndarray(format="rgb24"), dtype=np.uint8)
    if image.ndim != 3:
        raise ValueError("colour analysis needs a frame or an RGB array (H, W, 3)")
    return image


def _erode(mask: NDArray[np.bool_], radius: int) -> NDArray[np.bool_]:
    """Keep pixels whose neighbours up to ``radius`` away (in a cross) are set too."""
    out = mask.copy()
    for shift in range(1, radius + 1):
        out[shift:, :] &= mask[:-shift, :]
        out[:-shift, :] &= mask[shift:, :]
        out[:, shift:] &= mask[:, :-shift]
        out[:, :-shift] &= mask[:, shift:]
        out[:shift, :] = out[-shift:, :] = out[:, :shift] = out[:, -shift:] = False
    return out


def colour_fractions(
    image: Image, colours: Mapping[str, tuple[int, int, int]], tolerance: float = 40.0
) -> dict[str, float]:
    """The share of the image (0..1) that is solidly each colour (within ``tolerance`` in RGB).

    Thin features (tile borders, a speaking highlight, text) are eroded away, so only
    areas at least ~5 px thick count: a tile's background, not a stripe of the same hue."""
    # Every other pixel is plenty for areas this large and quarters the work.
    rgb = _rgb(image)[::2, ::2].astype(np.int32)
    fractions = {}
    for name, colour in colours.items():
        distance2 = ((rgb - np.array(colour, dtype=np.int32)) ** 2).sum(axis=2)
        solid = _erode(distance2 <= tolerance * tolerance, 1)
        fractions[name] = float(np.count_nonzero(solid)) / solid.size
    return fractions


def colours_present(
    image: Image,
    colours: Mapping[str, tuple[int, int, int]],
    min_fraction: float = 0.002,
    tolerance: float = 40.0,
) -> set[str]:
    """Which colours cover at least ``min_fraction`` of the image (solid areas only: ``colour_fractions``).

    The default (0.2 %, a 21x21 px patch of 640x360) still finds a 64x36 strip tile of the
    speaker layout under its name label and timestamp block (measured: 0.34 % after VP8)."""
    fractions = colour_fractions(image, colours, tolerance)
    return {name for name, share in fractions.items() if share >= min_fraction}


# ---- tones -----------------------------------------------------------------------------------------------


def tone_levels(
    samples: NDArray[np.generic],
    rate: int,
    candidates: Mapping[str, float],
    tolerance_hz: float = 8.0,
    dynamic_range_db: float = 60.0,
) -> dict[str, float]:
    """Each candidate frequency's peak, in dB above the noise floor (FFT with a Hann window).

    The floor is the median spectrum of the band around the candidates, but never lower
    than ``dynamic_range_db`` under the strongest candidate: Opus gives back sines so
    clean that its faint intermodulation products (measured 64 dB and more under the
    tones of a real MCU mix) would otherwise stand far above a near-zero median.
    ``samples`` is mono (N,), or channels by samples (C, N) as PyAV gives planar audio, or (N, C)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0) if x.shape[0] <= 8 < x.shape[1] else x.mean(axis=1)
    if x.size < 256 or not candidates:
        return dict.fromkeys(candidates, 0.0)
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    peaks = {}
    for name, hz in candidates.items():
        near = spectrum[(freqs >= hz - tolerance_hz) & (freqs <= hz + tolerance_hz)]
        peaks[name] = float(near.max()) if near.size else 0.0
    low, high = min(candidates.values()) / 2, min(max(candidates.values()) * 1.5, rate / 2)
    median = float(np.median(spectrum[(freqs >= low) & (freqs <= high)]))
    floor = max(median, max(peaks.values()) * 10 ** (-dynamic_range_db / 20), 1e-9)
    return {name: 20 * float(np.log10(max(peak, 1e-9) / floor)) for name, peak in peaks.items()}


def tones_present(
    samples: NDArray[np.generic],
    rate: int,
    candidates: Mapping[str, float],
    threshold: float = 20.0,
) -> set[str]:
    """Which candidate tones stand ``threshold`` dB or more above the noise floor (see ``tone_levels``).

    With the defaults a tone counts when it is 20 dB over the noise and at most 40 dB under
    the loudest candidate. Use at least ~0.5 s of samples: the resolution is ``rate / len(samples)``."""
    return {name for name, level in tone_levels(samples, rate, candidates).items() if level >= threshold}
