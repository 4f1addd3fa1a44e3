"""Pre-rendered tile art: name labels and the placeholder shown when a camera is off.

Drawing text costs far more than blending it, so each label and placeholder is
rendered once with Pillow per (name, tile size) and kept; every composite then only
blends or copies small numpy arrays. Each ``TileArt`` has its own fonts and caches,
so compositors in different threads share nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeVar

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from podium.media.layout import TileRect
from podium.media.yuv import Plane, plane_array

__all__ = ["NameLabel", "Placeholder", "TileArt", "blend_label", "initials"]

Weights = npt.NDArray[np.uint16]
_T = TypeVar("_T")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

#: Distance of the label from the tile's bottom-left corner, and padding inside its box.
LABEL_MARGIN = 8
LABEL_PADDING = 6
#: Opacity of the dark box behind the name: enough to read white text on a white wall.
LABEL_BOX_OPACITY = 0.6
PLACEHOLDER_RGB = (32, 34, 40)
#: Avatar circle colours, picked by a stable hash of the name so a person keeps theirs.
AVATAR_RGB = ((79, 70, 229), (13, 148, 136), (217, 119, 6), (190, 24, 93), (37, 99, 235), (101, 163, 13))
#: Cached entries per kind before the oldest are dropped (names x tile sizes seen lately).
_CACHE_LIMIT = 256
_FONT_FILES = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf")


def initials(name: str) -> str:
    """Up to two initials: first letters of the first and last words ("Ada King" -> "AK")."""
    words = name.split()
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


@dataclass(frozen=True, slots=True)
class NameLabel:
    """A label as fixed-point blend weights: ``out = (plane * keep + add) >> 8`` per plane."""

    y_keep: Weights
    y_add: Weights
    c_keep: Weights
    c_add: Weights

    @property
    def height(self) -> int:
        """Label height in luma pixels (even)."""
        return int(self.y_keep.shape[0])

    @property
    def width(self) -> int:
        """Label width in luma pixels (even)."""
        return int(self.y_keep.shape[1])


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A whole tile's Y, U and V planes: dark background, coloured circle, white initials."""

    y: Plane
    u: Plane
    v: Plane


def _even_up(value: int) -> int:
    return value + (value & 1)


class TileArt:
    """Renders and caches labels and placeholders for one compositor."""

    def __init__(self) -> None:
        self._fonts: dict[int, Font] = {}
        self._labels: dict[tuple[str, int, int], NameLabel | None] = {}
        self._placeholders: dict[tuple[str, int, int], Placeholder] = {}

    def font(self, size: int) -> Font:
        """A bold sans font at ``size`` px: a system font if there is one, else Pillow's own."""
        if size not in self._fonts:
            for file in _FONT_FILES:
                try:
                    self._fonts[size] = ImageFont.truetype(file, size)
                    break
                except OSError:
                    continue
            else:
                self._fonts[size] = ImageFont.load_default(size=size)
        return self._fonts[size]

    def label(self, name: str, tile_w: int, tile_h: int) -> NameLabel | None:
        """The label for ``name`` on a tile of this size; ``None`` when the tile is too small for one."""
        key = (name, tile_w, tile_h)
        if key not in self._labels:
            _bounded(self._labels)
            self._labels[key] = self._render_label(name, tile_w, tile_h)
        return self._labels[key]

    def placeholder(self, name: str, tile_w: int, tile_h: int) -> Placeholder:
        """The camera-off tile for ``name`` at this size."""
        key = (name, tile_w, tile_h)
        if key not in self._placeholders:
            _bounded(self._placeholders)
            self._placeholders[key] = self._render_placeholder(name, tile_w, tile_h)
        return self._placeholders[key]

    def _render_label(self, name: str, tile_w: int, tile_h: int) -> NameLabel | None:
        # Text scales with the tile but stays within what reads well on a 720p composite.
        font = self.font(max(12, min(24, tile_h // 12)))
        max_text_w = tile_w - 2 * LABEL_MARGIN - 2 * LABEL_PADDING
        text = _fit_text(name, font, max_text_w)
        if not text:
            return None
        left, _, right, _ = font.getbbox(text)
        # Height from a reference string, so every label on a tile size is the same height.
        _, top, _, bottom = font.getbbox("Ag")
        box_w = _even_up(int(right - left) + 2 * LABEL_PADDING)
        box_h = _even_up(int(bottom - top) + 2 * LABEL_PADDING)
        if box_h + 2 * LABEL_MARGIN > tile_h:
            return None
        coverage = Image.new("L", (box_w, box_h), 0)
        ImageDraw.Draw(coverage).text((LABEL_PADDING - left, LABEL_PADDING - top), text, fill=255, font=font)
        text_a = np.asarray(coverage, dtype=np.float32) / 255
        box_a = LABEL_BOX_OPACITY
        # Box over the video, then white text over the box:
        #   out = y*(1-box)*(1-text) + black*box*(1-text) + white*text
        keep = (1 - box_a) * (1 - text_a)
        add = 16 * box_a * (1 - text_a) + 235 * text_a
        # Chroma goes grey under the box so the name reads the same on any colour.
        c_keep = keep.reshape(box_h // 2, 2, box_w // 2, 2).mean(axis=(1, 3))
        return NameLabel(
            y_keep=np.round(keep * 256).astype(np.uint16),
            y_add=np.round(add * 256).astype(np.uint16),
            c_keep=np.round(c_keep * 256).astype(np.uint16),
            c_add=np.round((1 - c_keep) * 128 * 256).astype(np.uint16),
        )

    def _render_placeholder(self, name: str, tile_w: int, tile_h: int) -> Placeholder:
        image = Image.new("RGB", (tile_w, tile_h), PLACEHOLDER_RGB)
        draw = ImageDraw.Draw(image)
        radius = min(tile_w, tile_h) * 0.22
        cx, cy = tile_w / 2, tile_h / 2
        digest = hashlib.blake2s(name.encode(), digest_size=2).digest()
        colour = AVATAR_RGB[int.from_bytes(digest, "big") % len(AVATAR_RGB)]
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
        font = self.font(max(10, int(radius * 0.8)))
        draw.text((cx, cy), initials(name), fill=(255, 255, 255), font=font, anchor="mm")
        frame = av.VideoFrame.from_ndarray(np.asarray(image), format="rgb24").reformat(format="yuv420p")
        y, u, v = (plane_array(frame, i).copy() for i in range(3))
        return Placeholder(y=y, u=u, v=v)


def blend_label(y: Plane, u: Plane, v: Plane, rect: TileRect, label: NameLabel) -> None:
    """Blend ``label`` into the canvas planes at the bottom-left corner of ``rect``."""
    x = rect.x + LABEL_MARGIN
    top = rect.y + rect.h - LABEL_MARGIN - label.height
    region = y[top : top + label.height, x : x + label.width]
    region[...] = (region * label.y_keep + label.y_add) >> 8
    cx, cy, cw, ch = x // 2, top // 2, label.width // 2, label.height // 2
    for plane in (u, v):
        region = plane[cy : cy + ch, cx : cx + cw]
        region[...] = (region * label.c_keep + label.c_add) >> 8


def _fit_text(name: str, font: Font, max_w: int) -> str:
    """``name``, shortened with an ellipsis until it fits ``max_w`` pixels ("" if nothing fits)."""
    text = name.strip() or "?"
    if font.getlength(text) <= max_w:
        return text
    while text:
        text = text[:-1]
        candidate = text.rstrip() + "…"
        if font.getlength(candidate) <= max_w:
            return candidate
    return ""


def _bounded(cache: dict[tuple[str, int, int], _T]) -> None:
    """Drop the oldest entries once the cache is full (dicts keep insertion order)."""
    while len(cache) >= _CACHE_LIMIT:
        del cache[next(iter(cache))]
