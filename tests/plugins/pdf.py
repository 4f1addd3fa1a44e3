"""Small real PDFs for tests, made with pypdfium2 and Pillow (no fixtures on disk)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pypdfium2 as pdfium
from PIL import Image

from tests.plugins.conftest import event_where
from tests.support.client import TenantClient


def make_pdf(pages: int, width: float = 640, height: float = 360) -> bytes:
    """A PDF of ``pages`` blank pages."""
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width, height)
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


def make_colour_pdf(colours: list[tuple[int, int, int]], width: int = 640, height: int = 360) -> bytes:
    """A PDF whose pages are each filled with one colour (to find a slide in a composite)."""
    pages = [Image.new("RGB", (width, height), colour) for colour in colours]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=72.0)
    return out.getvalue()


async def upload_deck(tenant: TenantClient, room: str, token: str, body: bytes) -> httpx.Response:
    """``POST`` a deck to the slides plugin as the holder of ``token``."""
    async with httpx.AsyncClient(base_url=tenant.base_url, timeout=30) as http:
        return await http.post(
            f"/api/v1/plugins/slides/{tenant.slug}/{room}/decks",
            params={"name": "Quarterly.pdf"},
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
        )


async def ready_deck(tenant: TenantClient, room: str, host: Any, pdf: bytes) -> dict[str, Any]:
    """Upload ``pdf`` as Hana (a host) and wait until ``host`` hears the deck is rendered."""
    token = await tenant.token(room, "hana", "host")
    response = await upload_deck(tenant, room, token, pdf)
    assert response.status_code == 202, response.text
    deck: dict[str, Any] = response.json()
    assert deck["status"] == "rendering"
    return dict(
        await event_where(host, "slides", "deck", lambda d: d["id"] == deck["id"] and d["status"] == "ready")
    )
