"""The ``podium`` command: serve, migrate, tenants, rooms, tokens and the demo seed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from podium.core.settings import Settings, SettingsError

__all__ = ["main"]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"podium: {exc}") from exc


def _run_db(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` with the database bound (and pooled on PostgreSQL)."""
    from piccolo.engine.postgres import PostgresEngine

    from podium.core.db.engine import bind, close, engine_for

    engine = engine_for(settings)
    bind(engine)

    async def wrapped() -> Any:
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(min_size=1, max_size=4)
        try:
            return await work()
        finally:
            await close(engine)

    return asyncio.run(wrapped())


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        print(msgspec.json.encode(value).decode())
    else:
        for key, item in msgspec.to_builtins(value).items():
            print(f"{key}: {item}")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from podium.core.app import create_app
    from podium.core.draining import DrainingServer
    from podium.core.logs import uvicorn_log_config

    settings = _settings()
    host = args.host or settings.host
    port = args.port or settings.port
    os.environ["PODIUM_HOST"], os.environ["PODIUM_PORT"] = host, str(port)
    print(f"Podium listening on http://{host}:{port}", flush=True)
    settings = _settings()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level, settings.log_format),
        # Hard transport limit; the app refuses frames above max_frame_bytes itself with a clear error.
        ws_max_size=settings.max_frame_bytes * 4,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        lifespan="on",
        proxy_headers=True,
    )
    # SIGTERM first sends every participant to another node (close 1012), then stops.
    DrainingServer(config, app.state.services).run()


def cmd_media(args: argparse.Namespace) -> None:
    from podium.core.logs import configure
    from podium.media.node import Advertise, run

    settings = _settings()
    configure(settings.log_level, settings.log_format, "media")
    advertise = None
    if args.advertise:
        if not settings.redis_url:
            raise SystemExit("podium: --advertise registers the node in Redis: set PODIUM_REDIS_URL")
        if not args.advertise.startswith(("ws://", "wss://")):
            raise SystemExit("podium: --advertise takes the URL web nodes reach, ws://host:port")
        advertise = Advertise(
            url=args.advertise,
            redis_url=settings.redis_url,
            prefix=settings.redis_prefix,
            capacity=args.capacity or settings.media_capacity,
            heartbeat=settings.media_heartbeat,
            ttl=settings.media_node_ttl,
            drain_timeout=settings.media_drain_timeout,
        )
    _install_plugin_layouts(settings)
    print(f"Podium media node on ws://{args.host}:{args.port}", flush=True)
    asyncio.run(run(args.host, args.port, advertise=advertise))


def cmd_worker(args: argparse.Namespace) -> None:
    import signal

    from podium.core.auth.keys import SecretBox
    from podium.core.logs import configure
    from podium.core.outputs import FINALIZE_JOB, RecordingStore
    from podium.core.outputs.jobs import OutputJobs
    from podium.core.webhooks import Webhooks

    settings = _settings()
    configure(settings.log_level, settings.log_format, "worker")
    if args.metrics_port:
        from podium.core.metrics import serve_process_metrics

        serve_process_metrics(args.metrics_host, args.metrics_port)

    async def work() -> None:
        webhooks = Webhooks(settings, SecretBox(settings.resolved_secret_key()), run_jobs=True)
        # Recordings' finishing jobs have their own arq queue (without Redis they run where they stop).
        recordings = RecordingStore(settings)
        recordings.notify = webhooks.outbox.emit_for_tenant
        jobs = (
            OutputJobs(settings, {FINALIZE_JOB: recordings.finalize}, run=True)
            if settings.redis_url
            else None
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await webhooks.start()
        if jobs is not None:
            await jobs.start()
        print(
            "Podium worker running " + ("arq jobs" if settings.redis_url else "in-process jobs"), flush=True
        )
        try:
            await stop.wait()
        finally:
            await webhooks.stop()
            if jobs is not None:
                await jobs.stop()

    _run_db(settings, work)


def _install_plugin_layouts(settings: Settings) -> None:
    """The compositor offers every layout the installed plugins define (``podium_layouts``)."""
    from podium.core.plugins import build_plugin_manager, install_layouts, plugin_layouts

    extra = [m.strip() for m in settings.plugins.split(",") if m.strip()]
    install_layouts(plugin_layouts(build_plugin_manager(extra=extra)))


def cmd_plugin_new(args: argparse.Namespace) -> None:
    from podium.core.plugins.scaffold import new_plugin, plugin_names

    path = new_plugin(args.name, args.directory, author=args.author, description=args.description)
    names = plugin_names(args.name)
    print(
        f"Created {path}: distribution {names.distribution}, module {names.package}, plugin {names.plugin}."
    )
    print(f"Next: pip install -e '{path}[test]' && pytest {path}")


def cmd_migrate(args: argparse.Namespace) -> None:
    from podium.core.db.migrate import migrate

    settings = _settings()
    applied = _run_db(settings, migrate)
    print(f"migrations applied: {applied}" if applied else "database is up to date")


def cmd_tenant_create(args: argparse.Namespace) -> None:
    from podium.core.auth.keys import SecretBox
    from podium.core.tenants import create_tenant

    settings = _settings()
    box = SecretBox(settings.resolved_secret_key())
    issued = _run_db(settings, lambda: create_tenant(args.name, box, slug=args.slug))
    _print(issued, args.json)
    if not args.json:
        print("Keep the secret: it is shown only once.", file=sys.stderr)


def cmd_room_create(args: argparse.Namespace) -> None:
    from podium.core.rooms import RoomCreate, create_room
    from podium.core.services import tenant_ref

    settings = _settings()
    spec = msgspec.convert(
        {
            "slug": args.slug,
            "name": args.name or args.slug,
            "max_participants": args.max_participants,
            "media_mode": args.media_mode,
            "lobby": args.lobby,
        },
        RoomCreate,
    )

    async def work() -> Any:
        return await create_room(await tenant_ref(args.tenant), spec)

    _print(_run_db(settings, work), args.json)


def cmd_token_create(args: argparse.Namespace) -> None:
    from podium.core.demo import mint_for

    settings = _settings()
    token = _run_db(
        settings,
        lambda: mint_for(settings, args.tenant, args.room, args.identity, args.name, args.role, args.ttl),
    )
    print(token)


def cmd_demo(args: argparse.Namespace) -> None:
    from podium.core.demo import seed_demo

    settings = _settings()
    links = _run_db(settings, lambda: seed_demo(settings))
    print(json.dumps(links) if args.json else "\n".join(f"{k}: {v}" for k, v in links.items()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="Podium video conferencing engine")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web + realtime server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    media = sub.add_parser("media", help="run a media node (the MCU for large rooms)")
    media.add_argument("--host", default="127.0.0.1", help="interface of the control endpoint and media")
    media.add_argument("--port", type=int, default=8090, help="control endpoint port")
    media.add_argument(
        "--advertise",
        metavar="URL",
        help="register in Redis under this control URL (ws://host:port web nodes can reach), "
        "for PODIUM_MEDIA_URL=registry",
    )
    media.add_argument("--capacity", type=int, help="participants this node is sized for")
    media.set_defaults(func=cmd_media)

    worker = sub.add_parser("worker", help="run background jobs (webhook deliveries)")
    worker.add_argument(
        "--metrics-port", type=int, help="serve this process's Prometheus metrics on this port"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="interface of the metrics endpoint")
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its first API key (once)")
    create.add_argument("name")
    create.add_argument("--slug")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_tenant_create)

    room = sub.add_parser("room", help="manage rooms").add_subparsers(dest="action", required=True)
    rcreate = room.add_parser("create", help="create a room")
    rcreate.add_argument("tenant")
    rcreate.add_argument("slug")
    rcreate.add_argument("--name")
    rcreate.add_argument("--max-participants", type=int, default=100)
    rcreate.add_argument("--media-mode", choices=["auto", "p2p", "mcu"], default="auto")
    rcreate.add_argument("--lobby", action="store_true")
    rcreate.add_argument("--json", action="store_true")
    rcreate.set_defaults(func=cmd_room_create)

    token = sub.add_parser("token", help="mint join tokens").add_subparsers(dest="action", required=True)
    tcreate = token.add_parser("create", help="print a join token signed with the tenant's newest key")
    tcreate.add_argument("tenant")
    tcreate.add_argument("room")
    tcreate.add_argument("identity")
    tcreate.add_argument("--name", default="")
    tcreate.add_argument("--role", choices=["host", "moderator", "attendee"], default="attendee")
    tcreate.add_argument("--ttl", type=int, default=3600)
    tcreate.set_defaults(func=cmd_token_create)

    demo = sub.add_parser("demo", help="seed the demo tenant and room; print join links")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=cmd_demo)

    plugin = sub.add_parser("plugin", help="write plugins").add_subparsers(dest="action", required=True)
    pnew = plugin.add_parser("new", help="render a new plugin package from Podium's template")
    pnew.add_argument(
        "name", help="the plugin's name, e.g. my-poll: lowercase letters and digits, words joined by - or _"
    )
    pnew.add_argument("--directory", default=".", help="where to create podium-<name>/")
    pnew.add_argument("--author", default="")
    pnew.add_argument("--description", default="")
    pnew.set_defaults(func=cmd_plugin_new)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from podium.core.errors import PodiumError

    try:
        args.func(args)
    except PodiumError as exc:
        raise SystemExit(f"podium: {exc.code}: {exc.message}") from exc


if __name__ == "__main__":
    main()
