"""Small helpers for yuv420p frames as numpy planes."""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt

__all__ = ["Plane", "plane_array", "rgb_to_yuv"]

Plane = npt.NDArray[np.uint8]


def plane_array(frame: av.VideoFrame, index: int) -> Plane:
    """A zero-copy, writable view of one plane of ``frame``, without its row padding."""
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def rgb_to_yuv(r: int, g: int, b: int) -> tuple[int, int, int]:
    """Limited-range BT.601 Y, U, V of an sRGB colour (what swscale uses for yuv420p)."""
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)
