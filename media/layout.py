"""Where each visible participant goes on the MCU canvas, and who is visible at all.

A layout is a plain function (``LayoutFn``) from a ``LayoutRequest`` to a list of
``TileRect``s, so a plugin can add one by putting a function in ``LAYOUTS``. Every
coordinate and size is even: the canvas is YUV 4:2:0, where one chroma sample
covers a 2x2 block of pixels, so an odd edge would smear a neighbour's colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_LAST_N",
    "GAP",
    "LAYOUTS",
    "LayoutFn",
    "LayoutRequest",
    "TileRect",
    "grid",
    "select_visible",
    "speaker",
]

#: Tiles shown at 720p before the rest are left out (last-N): each shown tile costs a decode.
DEFAULT_LAST_N = 9
#: Pixels between tiles and around the edge of the canvas.
GAP = 8
#: Share of the canvas height given to the strip below the speaker in the speaker layout.
STRIP_SHARE = 0.22
_ASPECT = 16 / 9


@dataclass(frozen=True, slots=True)
class LayoutRequest:
    """What a layout needs: who is shown (display priority order), who speaks, the canvas size.

    ``content`` is the id of the content tile (a slide) when there is one; it is also the
    first of ``participants``. Layouts give it the main place.
    """

    participants: Sequence[str]
    speaker: str | None
    width: int
    height: int
    content: str | None = None


@dataclass(frozen=True, slots=True)
class TileRect:
    """One participant's tile in canvas pixels; all four numbers are even."""

    participant_id: str
    x: int
    y: int
    w: int
    h: int


LayoutFn = Callable[[LayoutRequest], list[TileRect]]


def _even(value: float) -> int:
    """Round down to an even integer (never below 2, so a tile never vanishes)."""
    return max(2, int(value) & ~1)


def _fit_16_9(max_w: float, max_h: float) -> tuple[int, int]:
    """The largest even 16:9 size that fits in ``max_w`` x ``max_h``."""
    w = min(max_w, max_h * _ASPECT)
    return _even(w), _even(w / _ASPECT)


def _row(ids: Sequence[str], tile_w: int, tile_h: int, y: int, canvas_w: int) -> list[TileRect]:
    """A horizontally centred row of equal tiles starting at ``y``."""
    row_w = len(ids) * tile_w + (len(ids) - 1) * GAP
    x = _even((canvas_w - row_w) / 2) if canvas_w > row_w else 0
    return [TileRect(pid, x + i * (tile_w + GAP), y, tile_w, tile_h) for i, pid in enumerate(ids)]


def grid(request: LayoutRequest) -> list[TileRect]:
    """Equal 16:9 tiles in the column count that makes them largest, centred; a short last row too.

    While there is content (a slide, a shared screen) it must stay readable: it takes the
    stage and the cameras go in a strip below, as in ``speaker``."""
    ids = list(request.participants)
    if not ids:
        return []
    if request.content in ids and len(ids) > 1:
        return speaker(request)
    inner_w = request.width - 2 * GAP
    inner_h = request.height - 2 * GAP
    best: tuple[int, int, int] = (0, 0, 1)
    for cols in range(1, len(ids) + 1):
        rows = math.ceil(len(ids) / cols)
        w, h = _fit_16_9((inner_w - (cols - 1) * GAP) / cols, (inner_h - (rows - 1) * GAP) / rows)
        if w * h > best[0] * best[1]:
            best = (w, h, cols)
    tile_w, tile_h, cols = best
    rows = math.ceil(len(ids) / cols)
    grid_h = rows * tile_h + (rows - 1) * GAP
    top = _even((request.height - grid_h) / 2)
    tiles: list[TileRect] = []
    for r in range(rows):
        tiles += _row(ids[r * cols : (r + 1) * cols], tile_w, tile_h, top + r * (tile_h + GAP), request.width)
    return tiles


def speaker(request: LayoutRequest) -> list[TileRect]:
    """The active speaker (or the content) large on top, everyone else in one strip below."""
    ids = list(request.participants)
    if not ids:
        return []
    main = next((pid for pid in (request.content, request.speaker) if pid in ids), ids[0])
    others = [pid for pid in ids if pid != main]
    if not others:
        return grid(request)
    strip_h = _even(request.height * STRIP_SHARE)
    # Strip tiles shrink until everyone fits in one row (last-N already capped how many there are).
    per_tile_w = (request.width - 2 * GAP - (len(others) - 1) * GAP) / len(others)
    small_w, small_h = _fit_16_9(per_tile_w, strip_h - GAP)
    strip_y = request.height - GAP - small_h
    big_w, big_h = _fit_16_9(request.width - 2 * GAP, strip_y - 2 * GAP)
    big_x = _even((request.width - big_w) / 2)
    big_y = _even((strip_y - big_h) / 2)
    return [
        TileRect(main, big_x, big_y, big_w, big_h),
        *_row(others, small_w, small_h, strip_y, request.width),
    ]


#: Layouts by name; a plugin may add its own ``LayoutFn`` here.
LAYOUTS: dict[str, LayoutFn] = {"grid": grid, "speaker": speaker}


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def select_visible(
    order: Sequence[str],
    speakers: Sequence[str],
    pinned: Sequence[str],
    last_n: int = DEFAULT_LAST_N,
    previous: Sequence[str] = (),
) -> list[str]:
    """Pick at most ``last_n`` participants to show, in display order.

    *Who* is shown: pinned participants first (in pin order), then recent active
    speakers (``speakers``, most recent first), then everyone else in join order
    (``order``), cut at ``last_n``. Ids not in ``order`` (people who left) are ignored.

    *Where* they go, given the ``previous`` result: pinned participants lead, in pin
    order; everyone else who was already shown keeps their slot. A newcomer takes
    the slot of someone who dropped out, i.e. a newly active speaker replaces the
    least-recent one in place, and nobody else moves. Newcomers left over after all
    freed slots are filled go at the end; freed slots left over close up. Without
    ``previous`` the result is simply the priority order above.
    """
    present = set(order)
    ranked = _unique([pid for pid in [*pinned, *speakers, *order] if pid in present])
    chosen = ranked[: max(0, last_n)]
    pinned_part = [pid for pid in _unique(pinned) if pid in present][: len(chosen)]
    rest = [pid for pid in chosen if pid not in pinned_part]
    if not previous:
        return pinned_part + rest
    rest_set = set(rest)
    # Pinned people lead on their own, so their old slots are not kept for them.
    kept = [pid for pid in _unique(previous) if pid not in pinned_part]
    slots: list[str | None] = [pid if pid in rest_set else None for pid in kept]
    kept_set = set(kept)
    newcomers = [pid for pid in rest if pid not in kept_set]
    for i, slot in enumerate(slots):
        if slot is None and newcomers:
            slots[i] = newcomers.pop(0)
    return pinned_part + [pid for pid in slots if pid is not None] + newcomers
