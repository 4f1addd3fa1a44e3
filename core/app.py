"""The Litestar application: REST API, realtime WebSocket, web client and health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from piccolo.engine.postgres import PostgresEngine

from podium.core import __version__
from podium.core.api.auth import caller
from podium.core.api.breakouts import BreakoutController
from podium.core.api.embed import EmbedOriginController, TenantController
from podium.core.api.errors import exception_handlers
from podium.core.api.keys import KeyController
from podium.core.api.nul_bytes import refuse_nul_bytes
from podium.core.api.openapi import ErrorResponses
from podium.core.api.participants import RoomParticipantsController
from podium.core.api.plugins import PluginController, plugin_asset_routers, plugin_routers
from podium.core.api.recordings import RecordingController, RoomOutputsController, StreamingHostController
from podium.core.api.rooms import RoomController
from podium.core.api.stage import StageController
from podium.core.api.watch import watch_routes
from podium.core.api.webhooks import WebhookController
from podium.core.db.engine import bind, close, engine_for
from podium.core.embed import frame_ancestors, normalize_origin
from podium.core.errors import PodiumError
from podium.core.health import healthz, metrics_endpoint, readyz
from podium.core.realtime.endpoint import room_socket
from podium.core.services import Services, make_channels
from podium.core.settings import Settings
from podium.core.webinar.page import WEBINAR_META, is_webinar

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def _own_origin(request: Request[Any, Any, Any]) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


@get("/r/{tenant:str}/{room:str}", media_type=MediaType.HTML, include_in_schema=False)
async def room_page(request: Request[Any, Any, Any], tenant: str, room: str) -> Response[bytes]:
    """The web client; it reads the room and token from its own URL.

    Only Podium's own pages and the tenant's embed origins may frame it (CSP frame-ancestors).
    ``?embed=<origin>`` (set by podium-embed.js) turns on the SDK bridge towards that origin,
    if it is one of them."""
    allowed = await frame_ancestors(tenant)
    html = (STATIC / "room.html").read_bytes()
    wanted = request.query_params.get("embed")
    if wanted:
        try:
            origin = normalize_origin(wanted)
        except PodiumError:
            origin = ""
        if origin and (origin in allowed or origin == _own_origin(request)):
            meta = f'<meta name="podium-embed-origin" content="{escape(origin)}">'
            html = html.replace(b"<!--podium:embed-->", meta.encode(), 1)
    if await is_webinar(tenant, room):
        html = html.replace(b"<!--podium:webinar-->", WEBINAR_META, 1)
    policy = " ".join(["frame-ancestors", "'self'", *allowed])
    return Response(
        html,
        media_type=MediaType.HTML,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": policy,
        },
    )


def _page(name: str, **headers: str) -> Response[bytes]:
    return Response((STATIC / name).read_bytes(), media_type=MediaType.HTML, headers=headers)


@get("/podium-embed.js", include_in_schema=False)
async def embed_sdk() -> Response[bytes]:
    """The embed SDK, loadable from any page (``<script src=".../podium-embed.js">``)."""
    return Response(
        (STATIC / "embed" / "podium-embed.js").read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@get("/dashboard", media_type=MediaType.HTML, include_in_schema=False)
async def dashboard_page() -> Response[bytes]:
    """The tenant dashboard (signs in with an API secret, kept in the tab's session storage)."""
    return _page(
        "dashboard.html",
        **{"Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors 'none'"},
    )


@get("/embed/playground", media_type=MediaType.HTML, include_in_schema=False)
async def playground_page() -> Response[bytes]:
    """Embed a room the way a tenant would, with a command console and a live event log."""
    return _page(
        "playground.html",
        **{"Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors 'none'"},
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """A fresh app with its own services (tests build one per server)."""
    settings = settings or Settings.from_env()
    engine = engine_for(settings)
    bind(engine)
    channels = make_channels(settings)
    services = Services(settings, channels)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(min_size=2, max_size=20)
        await services.start()
        try:
            yield
        finally:
            await services.stop()
            await close(engine)

    api = Router(
        "/api/v1",
        route_handlers=[
            RoomController,
            RoomParticipantsController,
            StageController,
            BreakoutController,
            KeyController,
            EmbedOriginController,
            TenantController,
            WebhookController,
            RoomOutputsController,
            RecordingController,
            StreamingHostController,
            PluginController,
            *plugin_routers(services.plugins),
        ],
        dependencies={"caller": Provide(caller)},
        security=[{"BearerAuth": []}],
    )
    app = Litestar(
        route_handlers=[
            api,
            room_socket,
            healthz,
            readyz,
            metrics_endpoint,
            room_page,
            *watch_routes,
            embed_sdk,
            dashboard_page,
            playground_page,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
            *plugin_asset_routers(services.plugins),
        ],
        # Error answers in the OpenAPI document, in Podium's shape (core/api/openapi.py).
        plugins=[channels, ErrorResponses()],
        lifespan=[lifespan],
        dependencies={"services": Provide(lambda: services, use_cache=True, sync_to_thread=False)},
        exception_handlers=exception_handlers,
        middleware=[refuse_nul_bytes],
        # REST bodies are small JSON documents; anything larger is refused with 413.
        request_max_body_size=256 * 1024,
        openapi_config=OpenAPIConfig(
            title="Podium",
            version=__version__,
            path="/schema",
            components=Components(
                security_schemes={
                    "BearerAuth": SecurityScheme(
                        type="http", scheme="bearer", description="A tenant API secret"
                    )
                }
            ),
        ),
        debug=False,
    )
    app.state.services = services
    return app
