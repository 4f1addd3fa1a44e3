"""Small real PDFs for tests, made with pypdfium2 (no fixtures on disk)."""

from __future__ import annotations

import io

import pypdfium2 as pdfium


def make_pdf(pages: int, width: float = 640, height: float = 360) -> bytes:
    """A PDF of ``pages`` blank pages."""
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width, height)
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()
