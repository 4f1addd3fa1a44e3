"""The Litestar application: REST API, realtime WebSocket, web client and health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, MediaType, Response, Router, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from piccolo.engine.postgres import PostgresEngine

from podium.core import __version__
from podium.core.api.auth import caller
from podium.core.api.errors import exception_handlers
from podium.core.api.keys import KeyController
from podium.core.api.participants import RoomParticipantsController
from podium.core.api.plugins import PluginController, plugin_asset_routers, plugin_routers
from podium.core.api.rooms import RoomController
from podium.core.db.engine import bind, engine_for
from podium.core.realtime.endpoint import room_socket
from podium.core.services import Services, make_channels
from podium.core.settings import Settings

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


@get("/healthz", media_type=MediaType.TEXT, include_in_schema=False)
async def healthz() -> str:
    return "ok"


@get("/r/{tenant:str}/{room:str}", media_type=MediaType.HTML, include_in_schema=False)
async def room_page(tenant: str, room: str) -> Response[bytes]:
    """The web client; it reads the room and token from its own URL."""
    return Response(
        (STATIC / "room.html").read_bytes(),
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
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
            if isinstance(engine, PostgresEngine):
                await engine.close_connection_pool()

    api = Router(
        "/api/v1",
        route_handlers=[
            RoomController,
            RoomParticipantsController,
            KeyController,
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
            room_page,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
            *plugin_asset_routers(services.plugins),
        ],
        plugins=[channels],
        lifespan=[lifespan],
        dependencies={"services": Provide(lambda: services, use_cache=True, sync_to_thread=False)},
        exception_handlers=exception_handlers,
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
