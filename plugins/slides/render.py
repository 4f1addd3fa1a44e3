"""Turning a PDF into page images (pypdfium2) in a child process with memory and time limits.

An uploaded PDF is untrusted input to a large C library: a crafted one can ask for a page
of a billion pixels, a content stream that inflates to gigabytes, or a parser crash. So
counting and rendering run in ``python -m podium.plugins.slides.render`` with an address
space and CPU cap and a wall-clock timeout; whatever it does, the web node goes on.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = ["LIMITS", "STAGE_SIZE", "PdfError", "SandboxLimits", "count_pages", "render_pages", "stage_image"]

#: The largest composite: a slide for the MCU's content tile needs no more pixels than this.
STAGE_SIZE = (1280, 720)
#: A page is at most this many times as tall as it is wide once rendered (a strip of a
#: billion points tall is drawn to fit, not at full width).
MAX_ASPECT = 4.0
#: How much the child yields the CPU to the web and media nodes (``nice`` increment).
NICENESS = 10


class PdfError(ValueError):
    """The upload is not a PDF that can be read or rendered within the limits."""


class SandboxLimits:
    """What one child process may use: address space, CPU seconds, wall seconds."""

    def __init__(self, memory_mb: int = 1024, cpu_seconds: int = 120, wall_seconds: float = 180) -> None:
        self.memory_mb, self.cpu_seconds, self.wall_seconds = memory_mb, cpu_seconds, wall_seconds

    def argv(self) -> list[str]:
        return [str(self.memory_mb), str(self.cpu_seconds)]

    @staticmethod
    def apply(memory_mb: int, cpu_seconds: int) -> None:
        """In the child, before it reads the PDF: from here on the kernel enforces the caps."""
        memory = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        # Rendering is background work: when cores are short, the web and media nodes go first.
        os.nice(NICENESS)


LIMITS = SandboxLimits()


def _child(args: list[str], data: bytes, limits: SandboxLimits) -> int:
    """Run this module's command line on ``data`` in a limited child; the page count it answers."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "podium.plugins.slides.render", *limits.argv(), *args],
            input=data,
            capture_output=True,
            timeout=limits.wall_seconds,
            check=False,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise PdfError(f"the PDF took longer than {limits.wall_seconds:g} s to process") from exc
    if done.returncode != 0:
        if done.returncode < 0 or b"MemoryError" in done.stderr:
            raise PdfError("the PDF needs more memory or time than a deck may use")
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        raise PdfError(tail[0].removeprefix("PdfError: ")[:300])
    return int(json.loads(done.stdout)["pages"])


def count_pages(data: bytes, limits: SandboxLimits = LIMITS) -> int:
    """How many pages ``data`` has; ``PdfError`` if it is not a readable PDF."""
    return _child(["count"], data, limits)


def render_pages(data: bytes, folder: Path, width: int, limits: SandboxLimits = LIMITS) -> int:
    """Render every page to ``folder/{n}.jpg`` (1-based), ``width`` pixels wide; returns the count."""
    folder.mkdir(parents=True, exist_ok=True)
    return _child(["render", str(folder), str(width)], data, limits)


def stage_image(page: Path) -> bytes:
    """A rendered page as a JPEG that fits the composite, for the media node's content tile."""
    with Image.open(page) as image:
        image.thumbnail(STAGE_SIZE)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _open(data: bytes):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise SystemExit(f"PdfError: {exc}") from exc


def _render_page(pdf: Any, index: int, folder: Path, width: int) -> None:
    """Page ``index`` to ``folder/{index + 1}.jpg``: ``width`` wide, at most ``MAX_ASPECT`` times as tall."""
    page = pdf[index]
    page_width, page_height = max(page.get_width(), 1.0), max(page.get_height(), 1.0)
    scale = min(width / page_width, width * MAX_ASPECT / page_height)
    image = page.render(scale=scale).to_pil().convert("RGB")
    image.save(folder / f"{index + 1}.jpg", quality=85)
    page.close()


def _main(argv: list[str]) -> None:
    """The child: ``MEMORY_MB CPU_S count`` or ``… render FOLDER WIDTH``; PDF in, JSON out."""
    SandboxLimits.apply(int(argv[0]), int(argv[1]))
    import pypdfium2 as pdfium

    argv = argv[2:]
    pdf = _open(sys.stdin.buffer.read())
    pages = len(pdf)
    if argv[0] == "render":
        folder, width = Path(argv[1]), int(argv[2])
        for index in range(pages):
            try:
                _render_page(pdf, index, folder, width)
            except pdfium.PdfiumError as exc:  # a page the count saw but pdfium cannot load
                raise SystemExit(f"PdfError: page {index + 1} could not be rendered ({exc})") from exc
    pdf.close()
    print(json.dumps({"pages": pages}))


if __name__ == "__main__":
    _main(sys.argv[1:])
