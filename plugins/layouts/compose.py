"""The presentation layout for the MCU compositor: the slide (or presenter) large, a column of the rest."""

from __future__ import annotations

from podium.media.layout import GAP, LayoutRequest, TileRect, grid

__all__ = ["presentation"]

#: Share of the canvas width the presenter gets.
MAIN_SHARE = 0.78


def _even(value: float) -> int:
    return int(value) // 2 * 2


def presentation(request: LayoutRequest) -> list[TileRect]:
    """The content (a slide) or else the first participant (the pinned presenter) large on the
    left, the others stacked right."""
    ids = list(request.participants)
    if len(ids) < 2:
        return grid(request)
    if request.content in ids:
        ids.remove(request.content)
        ids.insert(0, request.content)
    main_w = _even(request.width * MAIN_SHARE) - 2 * GAP
    main_h = min(_even(main_w * 9 / 16), _even(request.height - 2 * GAP))
    main_w = min(main_w, _even(main_h * 16 / 9))
    tiles = [TileRect(ids[0], GAP, _even((request.height - main_h) / 2), main_w, main_h)]
    others = ids[1:]
    col_x = GAP + main_w + GAP
    col_w = _even(request.width - col_x - GAP)
    cell_h = (request.height - GAP * (len(others) + 1)) / len(others)
    tile_w = min(col_w, _even(cell_h * 16 / 9))
    tile_h = _even(tile_w * 9 / 16)
    top = _even((request.height - len(others) * tile_h - (len(others) - 1) * GAP) / 2)
    for i, pid in enumerate(others):
        tiles.append(
            TileRect(pid, col_x + _even((col_w - tile_w) / 2), top + i * (tile_h + GAP), tile_w, tile_h)
        )
    return tiles
