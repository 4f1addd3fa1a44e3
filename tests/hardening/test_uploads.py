"""Uploads and downloads under attack: the slides upload, and every route that serves files.

The upload is driven over raw sockets where HTTP clients would tidy the attack away (lying
Content-Length, chunked bodies that never end); PDF bombs are written by hand here. The node
must refuse early and clearly, render in its limited child process, and keep answering
everyone else meanwhile. Download routes get path traversal in every spelling and must never
serve a canary planted next to (and inside) the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import resource
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from PIL import Image

from podium.plugins.slides.render import PdfError, SandboxLimits, render_pages
from tests.hardening.conftest import Tally
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node

LIMIT_MB = 1
LIMIT = LIMIT_MB * 1024 * 1024
MAX_PAGES = 20
PAGE_WIDTH = 3840
#: What a node under attack may take to answer a health check (two busy cores, other tests).
PROMPT = 2.0


# ---- PDFs, written by hand ------------------------------------------------------------------------------


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    """A stream object holding ``data`` (``extra``: more dictionary entries, such as a filter)."""
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def one_page(
    media_box: bytes = b"[0 0 612 792]", content: bytes = b"0 0 1 rg 0 0 99 99 re f", extra: bytes = b""
) -> bytes:
    """A one-page PDF: ``content`` is drawing operators, or a whole stream object (``<<…``)."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 4 0 R %s >>" % (media_box, extra),
            content if content.startswith(b"<<") else stream(content),
        ]
    )


def deflate_bomb(megabytes: int) -> bytes:
    """One page whose content stream inflates to ``megabytes`` MB of drawing operators."""
    packer = zlib.compressobj(9)
    chunk = b"0 0 1 rg 0 0 10 10 re f\n" * 40_000
    packed = b"".join(packer.compress(chunk) for _ in range(megabytes * 1024 * 1024 // len(chunk)))
    return one_page(content=stream(packed + packer.flush(), b"/Filter /FlateDecode"))


def many_pages(count: int) -> bytes:
    """``count`` empty pages."""
    kids = b" ".join(b"%d 0 R" % (number + 4) for number in range(count))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 3 0 R >>"
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
            stream(b""),
            *[page] * count,
        ]
    )


def page_tree_chain(depth: int) -> bytes:
    """A page tree ``depth`` levels deep with one page at the bottom."""
    nodes = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (level + 3) for level in range(depth)]
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", *nodes, b"<< /Type /Page /MediaBox [0 0 100 100] >>"])


#: Built when a test asks (the deflate bomb takes a second to pack).
BOMBS: dict[str, Callable[[], bytes]] = {
    # 200 x 200 inches: rendered to the configured width, never at 72 dpi's 14400 px squared.
    "huge media box": lambda: one_page(b"[0 0 14400 14400]", b"0 0 1 rg 0 0 14400 14400 re f"),
    "a strip a billion points tall": lambda: one_page(b"[0 0 10 1000000000]"),
    "a 300 MB content stream": lambda: deflate_bomb(300),
    "arrays nested 100 000 deep": lambda: one_page(extra=b"/Junk " + b"[" * 100_000 + b"]" * 100_000),
    "a page tree 5 000 deep": lambda: page_tree_chain(5_000),
    "negative and absurd boxes": lambda: one_page(b"[1e38 -1e38 -1e38 1e38]"),
    "5 000 pages, over the page limit": lambda: many_pages(5_000),
}


# ---- raw HTTP ----------------------------------------------------------------------------------------------


async def raw_request(base: str, head: str, body: bytes = b"", timeout: float = 15.0) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body`` exactly as
    given; return the status and the whole response (headers and body, as bytes). A server that
    drops the connection without an answer gives status 0."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head.encode("latin-1") + b"\r\n\r\n")
        with contextlib.suppress(ConnectionError):  # the server may answer and close mid-body
            for start in range(0, len(body), 65536):
                writer.write(body[start : start + 65536])
                await writer.drain()
        try:
            response = await asyncio.wait_for(_read_response(reader), timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            return 0, b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(response.split(b" ", 2)[1]), response


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    """One response: its headers, then its body by Content-Length (or all until the server closes)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ),
        None,
    )
    body = await (reader.readexactly(length) if length is not None else reader.read())
    return head + body


async def get(base: str, path: str, headers: str = "") -> tuple[int, bytes]:
    """``GET path``, sent byte for byte (an HTTP client would resolve the dot segments)."""
    host = urlsplit(base).netloc
    return await raw_request(base, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close{headers}")


class Pulse:
    """Asks for ``/healthz`` and the tenant's room list (a REST call that reads the database) in
    the background, ten times a second; the slowest answer is the node's worst moment."""

    def __init__(self, tenant: TenantClient) -> None:
        self.tenant = tenant
        self.slowest = 0.0
        self.failures: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        auth = {"Authorization": f"Bearer {self.tenant.secret}"}
        async with httpx.AsyncClient(base_url=self.tenant.base_url, timeout=10) as http:
            while True:
                for path, headers in (("/healthz", {}), ("/api/v1/rooms", auth)):
                    started = time.monotonic()
                    try:
                        status = (await http.get(path, headers=headers)).status_code
                        if status != 200:
                            self.failures.append(f"{path}: {status}")
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {exc!r}")
                    self.slowest = max(self.slowest, time.monotonic() - started)
                await asyncio.sleep(0.1)

    async def __aenter__(self) -> Pulse:
        self._task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        assert self.failures == [] and self.slowest < PROMPT, (self.failures, self.slowest)


# ---- a tenant with slides, and a presenter in a room ----------------------------------------------------


class Stage:
    """A room of a slides tenant, with its host on the WebSocket and a host token for uploads."""

    def __init__(self, tenant: TenantClient, room: str, host: Member, token: str) -> None:
        self.tenant, self.room, self.host, self.token = tenant, room, host, token

    @property
    def path(self) -> str:
        return f"/api/v1/plugins/slides/{self.tenant.slug}/{self.room}/decks"

    def head(self, *headers: str) -> str:
        lines = [
            f"POST {self.path}?name=deck.pdf HTTP/1.1",
            f"Host: {urlsplit(self.tenant.base_url).netloc}",
            f"Authorization: Bearer {self.token}",
            "Content-Type: application/pdf",
            *headers,
        ]
        return "\r\n".join(lines)

    async def upload(self, body: bytes) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.tenant.base_url, timeout=60) as http:
            return await http.post(
                self.path,
                params={"name": "deck.pdf"},
                content=body,
                headers={"Authorization": f"Bearer {self.token}"},
            )

    async def rendered(self, deck_id: str, timeout: float = 120) -> dict[str, Any]:
        """The deck once rendering ended (``ready`` or ``failed``), as presenters hear it."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.host.next(
                "plugin.event", timeout=max(0.1, deadline - time.monotonic()), event="deck"
            )
            if event["data"]["id"] == deck_id and event["data"]["status"] != "rendering":
                return dict(event["data"])


@pytest.fixture
async def stage(deployment: Deployment, node: Node) -> AsyncIterator[Stage]:
    issued = deployment.create_tenant(f"Uploads {uuid.uuid4().hex[:6]}")
    tenant = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    config = {"max_upload_mb": LIMIT_MB, "max_pages": MAX_PAGES, "page_width": PAGE_WIDTH}
    response = await tenant.http.put("/plugins/slides", json={"enabled": True, "config": config})
    assert response.status_code == 200, response.text
    room = (await tenant.room(media_mode="p2p"))["slug"]
    host = await tenant.join(room, "hana", "host")
    yield Stage(tenant, room, host, await tenant.token(room, "hana", "host"))
    await host.leave()
    await tenant.close()


def error_code(response: bytes) -> str:
    """The ``error.code`` of a raw JSON error response."""
    return str(json.loads(response.split(b"\r\n\r\n", 1)[1])["error"]["code"])


def chunked(body: bytes, size: int = 65536, end: bool = True) -> bytes:
    """``body`` in chunked transfer coding; without its last chunk when ``end`` is false."""
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)
    )
    return chunks + (b"0\r\n\r\n" if end else b"")


async def test_oversized_uploads_are_refused_before_the_body_arrives(stage: Stage, tally: Tally) -> None:
    over = chunked(b"%PDF" + b"0" * (LIMIT + 2), end=False)
    cases = {
        # Declared too large: refused on the headers alone, before a byte of the body is sent.
        "length over the limit": (f"Content-Length: {LIMIT + 1}", b""),
        "length of a terabyte": (f"Content-Length: {10**12}", b""),
        # Chunked (no length): refused once the bytes pass the limit, though the body never ends.
        "chunked, never ending": ("Transfer-Encoding: chunked", over),
        "chunked, complete": ("Transfer-Encoding: chunked", over + b"0\r\n\r\n"),
    }
    for name, (header, body) in cases.items():
        tally.tried()
        status, response = await raw_request(stage.tenant.base_url, stage.head(header), body, timeout=10)
        assert (status, error_code(response)) == (413, "slides_too_large"), name
        tally.held()


async def test_lying_and_malformed_framing_gets_a_4xx(stage: Stage, tally: Tally) -> None:
    base = stage.tenant.base_url
    framings = {
        # Says less than it sends: the upload is the declared bytes (no PDF); the rest is no request.
        "length under the body": ("Content-Length: 100", b"%PDF-1.7\n" + b"x" * (2 * LIMIT)),
        "negative length": ("Content-Length: -1", b"%PDF"),
        "length not a number": ("Content-Length: abc", b"%PDF"),
        "two lengths": ("Content-Length: 4\r\nContent-Length: 40", b"%PDF"),
        "length and chunked": (
            "Content-Length: 4\r\nTransfer-Encoding: chunked",
            chunked(b"%PDF" + b"0" * (2 * LIMIT)),
        ),
        "chunk size garbage": ("Transfer-Encoding: chunked", b"zz\r\n%PDF\r\n0\r\n\r\n"),
    }
    for name, (header, body) in framings.items():
        tally.tried()
        status, response = await raw_request(base, stage.head(header), body, timeout=10)
        # Refused (4xx), or the connection dropped by the HTTP layer without an answer.
        assert status == 0 or 400 <= status < 500, f"{name}: {response[:300]!r}"
        tally.held()
    assert (await stage.upload(one_page())).status_code == 202  # the route still takes a real deck
    await stage.host.quiet(0.5)


async def test_an_upload_that_stalls_holds_up_nobody(stage: Stage, tally: Tally) -> None:
    """Declares 900 KiB, sends 10 KiB and waits: the node answers everyone else meanwhile."""
    url = urlsplit(stage.tenant.base_url)
    tally.tried()
    _, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(stage.head(f"Content-Length: {900 * 1024}").encode() + b"\r\n\r\n" + b"%PDF" + b"0" * 10_240)
    await writer.drain()
    async with Pulse(stage.tenant):
        response = await stage.upload(one_page())
        assert response.status_code == 202, response.text
        assert (await stage.rendered(response.json()["id"]))["status"] == "ready"
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    # The stalled upload never became a deck.
    assert [
        m for m in await stage.host.quiet(1.0) if m["type"] == "plugin.event" and m["event"] == "deck"
    ] == []
    tally.held()


@pytest.mark.embedded_only
async def test_not_a_pdf_is_refused(stage: Stage, tally: Tally) -> None:
    real = one_page()
    bodies = {
        "empty": b"",
        "a GIF": b"GIF89a" + b"\0" * 100,
        "the magic alone": b"%PDF",
        "magic then noise": b"%PDF-1.7\n" + bytes(range(256)) * 40,
        "a PDF cut in half": real[: len(real) // 2],
        "a PDF without its cross-references": real[: real.index(b"xref")],
        "HTML": b"%PDF<script>window.__pwned = 1</script>",
    }
    for name, body in bodies.items():
        tally.tried()
        response = await stage.upload(body)
        if response.status_code == 202:  # pdfium reads some broken files; then rendering decides
            deck = await stage.rendered(response.json()["id"])
            assert deck["status"] in ("ready", "failed"), name
        else:
            assert (response.status_code, response.json()["error"]["code"]) == (415, "slides_not_pdf"), name
        tally.held()


@pytest.mark.embedded_only
@pytest.mark.parametrize("name", list(BOMBS))
async def test_pdf_bombs_end_in_a_clear_refusal_or_a_bounded_deck(
    stage: Stage, tally: Tally, name: str
) -> None:
    body = BOMBS[name]()
    tally.tried()
    async with Pulse(stage.tenant):
        response = await stage.upload(body)
        if response.status_code != 202:
            assert response.status_code in (413, 415), response.text
            assert response.json()["error"]["code"] in ("slides_too_many_pages", "slides_not_pdf")
        else:
            deck = await stage.rendered(response.json()["id"])
            if deck["status"] == "failed":
                assert deck["error"] and "Traceback" not in deck["error"] and len(deck["error"]) < 300, deck
            else:
                await _pages_are_bounded(stage, deck)
    # The node goes on: a real deck still renders.
    healthy = await stage.upload(one_page())
    assert healthy.status_code == 202 and (await stage.rendered(healthy.json()["id"]))["status"] == "ready"
    tally.held()


async def _pages_are_bounded(stage: Stage, deck: dict[str, Any]) -> None:
    """Every page image is at most the configured width, and at most four times as tall."""
    async with httpx.AsyncClient(base_url=stage.tenant.base_url, timeout=30) as http:
        for page in range(1, deck["pages"] + 1):
            image = await http.get(f"/api/v1/plugins/slides/decks/{deck['id']}/pages/{page}")
            assert image.status_code == 200
            width, height = Image.open(io.BytesIO(image.content)).size
            assert width <= PAGE_WIDTH and height <= 4 * PAGE_WIDTH, (width, height)


def _render_children(parent: int) -> list[int]:
    """The slides render processes ``parent`` runs now."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (proc / "stat").read_text()
            if (
                int(stat.rsplit(")", 1)[1].split()[1]) == parent
                and b"slides.render" in (proc / "cmdline").read_bytes()
            ):
                found.append(int(proc.name))
    return found


def _limits_of(pid: int) -> tuple[dict[str, str], int]:
    """A process's address space and CPU time caps (``/proc/PID/limits``) and its niceness."""
    caps = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(("Max address space", "Max cpu time")):
            caps[line[:26].strip()] = line[26:].split()[0]
    return caps, int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.embedded_only
async def test_pdfs_are_read_in_a_child_with_memory_cpu_and_priority_limits(
    stage: Stage, node: Node, tally: Tally
) -> None:
    """Caught in the act: the process rendering a bomb is the node's child, capped and niced."""
    limits: dict[str, str] = {}
    niceness: list[int] = []

    async def watch() -> None:
        while True:
            for pid in _render_children(node.process.pid):
                with contextlib.suppress(OSError):
                    caps, nice = _limits_of(pid)
                    limits.update(caps)
                    niceness.append(nice)
            await asyncio.sleep(0.02)

    tally.tried()
    watcher = asyncio.create_task(watch())
    try:
        response = await stage.upload(BOMBS["a 300 MB content stream"]())
        assert response.status_code == 202, response.text
        deck = await stage.rendered(response.json()["id"])
    finally:
        watcher.cancel()
    assert deck["status"] == "failed" and "memory or time" in deck["error"]
    assert limits == {"Max address space": str(1024 * 1024 * 1024), "Max cpu time": "120"}
    assert max(niceness, default=0) >= 10  # once it applied its limits (it starts at 0, as Python loads)
    tally.held()


def test_the_render_child_is_cut_off_at_its_cpu_and_wall_limits(tmp_path: Path, tally: Tally) -> None:
    """Ten pages sharing one 10 MB content stream: seven seconds of CPU in a 25 KB file."""
    packer = zlib.compressobj(9)
    ops = b"0 0 1 rg 0 0 10 10 re f\n" * 40_000
    packed = b"".join(packer.compress(ops) for _ in range(10 * 1024 * 1024 // len(ops))) + packer.flush()
    kids = b" ".join(b"%d 0 R" % (n + 4) for n in range(10))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 3 0 R >>"
    busy = pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count 10 >>" % kids,
            stream(packed, b"/Filter /FlateDecode"),
            *[page] * 10,
        ]
    )
    # The CPU cap is held on the CPU the child used: it runs at nice 10, so on a busy machine a
    # second of CPU can take many seconds of wall clock.
    tally.tried()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with pytest.raises(PdfError, match="more memory or time"):
        render_pages(busy, tmp_path, 320, SandboxLimits(cpu_seconds=1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime < 2.5
    tally.held()
    tally.tried()
    started = time.monotonic()
    with pytest.raises(PdfError, match="longer than 1 s"):
        render_pages(busy, tmp_path, 320, SandboxLimits(wall_seconds=1))
    assert time.monotonic() - started < 5
    tally.held()


# ---- path traversal -------------------------------------------------------------------------------------


def traversals(target: str, depth: int = 8) -> list[str]:
    """``target`` (a file name) reached from a folder up to ``depth`` levels below it, spelled
    every way a server might decode into ``../``: plain, percent-encoded, double-encoded, with
    backslashes, overlong UTF-8, NUL-terminated; and as absolute paths."""
    ups = [
        "../",
        "..%2f",
        "%2e%2e%2f",
        "%2e%2e/",
        ".%2e/",
        "%252e%252e%252f",
        "..%252f",
        "..\\",
        "..%5c",
        "%2e%2e%5c",
        "..%c0%af",
        "....//",
        "..;/",
        "%2e%2e%u2215",
    ]
    paths = [up * level + target for up in ups for level in range(1, depth + 1)]
    paths += [f"{'../' * level}{target}%00.jpg" for level in range(1, depth + 1)]
    return paths


@pytest.fixture
def canaries(deployment: Deployment) -> Iterator[tuple[str, str, list[Path]]]:
    """A secret planted next to the data directory and at every level inside it that a route
    serves from or below (plugins/slides, live): no response may ever carry it."""
    secret = f"secret-{uuid.uuid4().hex}"  # the content, never the name: 404s may echo the path
    name = f"canary-{uuid.uuid4().hex[:8]}.txt"
    data = deployment.data_dir
    folders = [data.parent, data, data / "plugins", data / "plugins" / "slides", data / "live"]
    planted = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(secret)
        planted.append(folder / name)
    yield name, secret, planted
    for path in planted:
        path.unlink(missing_ok=True)


#: What must never come back: file contents outside the folders routes serve from.
LEAKS = [b"def create_app", b"def upload_deck", b"root:x:0:0"]


async def test_no_route_serves_a_file_outside_its_folder(
    stage: Stage, canaries: tuple[str, str, list[Path]], tally: Tally
) -> None:
    name, secret, planted = canaries
    tenant, base = stage.tenant, stage.tenant.base_url
    # A rendered deck and a live public stream, so those routes get as far as their file lookups.
    deck = (await stage.upload(one_page())).json()["id"]
    assert (await stage.rendered(deck))["status"] == "ready"
    stream = await tenant.http.post(f"/rooms/{stage.room}/streams", json={"public": True})
    assert stream.status_code == 201, stream.text
    watch = stream.json()["watch_url"]
    auth = f"\r\nAuthorization: Bearer {tenant.secret}"
    routes: dict[str, tuple[Callable[[str], str], str]] = {
        "static files": (lambda p: f"/static/{p}", ""),
        "static files, a folder down": (lambda p: f"/static/js/{p}", ""),
        "plugin client files": (lambda p: f"/plugins/slides/assets/{p}", ""),
        "slide page, as the deck": (lambda p: f"/api/v1/plugins/slides/decks/{p}/pages/1", ""),
        "slide page, as the page": (lambda p: f"/api/v1/plugins/slides/decks/{deck}/pages/{p}", ""),
        "HLS segment": (lambda p: f"{watch}/{p}", ""),
        "HLS stream": (lambda p: f"/watch/{tenant.slug}/{p}/segment-000000.ts", ""),
        "recording download": (lambda p: f"/api/v1/recordings/{p}/download", auth),
        "recording thumbnail": (lambda p: f"/api/v1/recordings/{p}/thumbnail", auth),
    }
    payloads = [
        *traversals(name, depth=6),
        *traversals("app.py", depth=2),  # core/app.py, beside core/static
        *traversals("routes.py", depth=2),  # plugins/slides/routes.py, beside its client folder
        *traversals("etc/passwd", depth=6),
        *(str(path) for path in planted),
        *(quote(str(path), safe="") for path in planted),
        "/etc/passwd",
        "%2fetc%2fpasswd",
    ]
    gate = asyncio.Semaphore(8)

    async def attempt(route: str, path: str, headers: str) -> str | None:
        async with gate:
            status, response = await get(base, path, headers)
        leaked = [m for m in (secret.encode(), *LEAKS) if m in response]
        if leaked or not 400 <= status < 500:
            return f"{route}: {status} {leaked} ← {path}"
        return None

    try:
        attempts = [
            attempt(route, build(p), headers) for route, (build, headers) in routes.items() for p in payloads
        ]
        tally.tried(len(attempts))
        broken = [why for why in await asyncio.gather(*attempts) if why is not None]
        tally.held(len(attempts) - len(broken))
        assert broken == [], "\n".join(broken[:20])
    finally:
        await tenant.http.post(f"/rooms/{stage.room}/streams/stop")
    # The routes do serve what is theirs.
    for path in (
        "/static/js/app.js",
        "/plugins/slides/assets/slides.js",
        f"/api/v1/plugins/slides/decks/{deck}/pages/1",
    ):
        assert (await get(base, path))[0] == 200, path
