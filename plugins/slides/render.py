"""Turning a PDF into page images (pypdfium2), off the event loop."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

__all__ = ["STAGE_SIZE", "PdfError", "count_pages", "render_pages", "stage_image"]

#: The largest composite: a slide for the MCU's content tile needs no more pixels than this.
STAGE_SIZE = (1280, 720)


class PdfError(ValueError):
    """The upload is not a PDF pypdfium2 can open."""


def count_pages(data: bytes) -> int:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfError(str(exc)) from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_pages(data: bytes, folder: Path, width: int) -> int:
    """Render every page to ``folder/{n}.jpg`` (1-based), ``width`` pixels wide; returns the count."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(data)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            scale = width / max(page.get_width(), 1.0)
            image = page.render(scale=scale).to_pil().convert("RGB")
            image.save(folder / f"{index + 1}.jpg", quality=85)
            page.close()
        return len(pdf)
    finally:
        pdf.close()


def stage_image(page: Path) -> bytes:
    """A rendered page as a JPEG that fits the composite, for the media node's content tile."""
    with Image.open(page) as image:
        image.thumbnail(STAGE_SIZE)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
    return out.getvalue()
