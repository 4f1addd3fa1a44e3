"""Tenant B against tenant A's resources, on every REST route and over the WebSocket.

The operations come from the live ``/schema/openapi.json``, so a new route is attacked the day it
appears, and the test fails while one of its path or query parameters has no entry in the
substitution tables below. Each request B makes with one of A's ids must be refused exactly as the
same request with a made-up id of the same shape (no existence oracle), in the error shape, and no
response B gets may carry any of A's data that B did not send itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from tests.hardening.conftest import Tally
from tests.plugins.pdf import make_pdf
from tests.support.client import Member, TenantClient, refused
from tests.support.server import Deployment, Node

PLUGINS = ("polls", "slides", "qa", "layouts")
#: A's polls config: distinct from the defaults, so B seeing it would show.
A_POLLS = {"max_options": 7, "allow_anonymous": False, "live_results": False}
#: Query parameters that name no resource: sizes, filters, a position in B's own log, a file name.
PLAIN_QUERY = {"limit", "status"}
PLAIN_QUERY_AT = {
    ("GET", "/api/v1/webhooks/endpoints/{endpoint_id}/messages"): {"before"},
    ("POST", "/api/v1/plugins/slides/{tenant}/{room}/decks"): {"name"},
}
#: Routes whose authority is not the tenant's API secret.
JOIN_TOKEN_ROUTES = {"/api/v1/plugins/slides/{tenant}/{room}/decks"}
#: Routes open to whoever holds an unguessable id, by design.
CAPABILITY_ROUTES = {
    "/api/v1/plugins/slides/decks/{deck}/pages/{page}": "docs/plugins.md: the deck id is a random "
    "128-bit capability known only to the room (an <img> cannot send a token)",
}
#: Routes outside the OpenAPI document (include_in_schema=False) that take a tenant's ids.
WATCH_ROUTES = ("/watch/{tenant}/{stream_id}/status", "/watch/{tenant}/{stream_id}/index.m3u8")


@dataclass
class Side:
    """One tenant as the attack sees it: its key, its ids, and the text that would betray it."""

    slug: str
    key_id: str
    secret: str
    node: Node
    room: str
    ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)

    def client(self) -> TenantClient:
        """A REST client of the tenant's (one per test: it belongs to the test's event loop)."""
        return TenantClient(self.node.url, self.node.ws_url, self.slug, self.key_id, self.secret)

    def host_token(self, room: str, **claims: Any) -> str:
        """A host token for ``room`` signed with this tenant's secret (PyJWT, as an embedder)."""
        now = int(time.time())
        body = {
            "iss": self.key_id,
            "sub": f"host-{uuid.uuid4().hex[:6]}",
            "room": room,
            "role": "host",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, self.secret, "HS256")


@dataclass
class World:
    a: Side
    b: Side


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.request.url, response.text)
    return response.json() if response.content else None


def _prepare(deployment: Deployment, node: Node, tag: str, polls: dict[str, Any]) -> Side:
    """A tenant with a lobby room, plugins, an extra key, an origin, a streaming host and a webhook."""
    issued = deployment.create_tenant(f"{tag} {uuid.uuid4().hex[:6]}")
    side = Side(issued["tenant"], issued["key_id"], issued["secret"], node, f"{tag}-{uuid.uuid4().hex[:8]}")
    room_name = f"{tag.title()} board meeting {uuid.uuid4().hex[:6]}"
    auth = {"Authorization": f"Bearer {side.secret}"}
    with httpx.Client(base_url=node.url + "/api/v1", headers=auth, timeout=30) as http:
        _ok(http.patch("/tenant", json={"webhook_development": True}))
        _ok(http.post("/rooms", json={"slug": side.room, "name": room_name, "lobby": True}))
        for plugin in PLUGINS:
            config = polls if plugin == "polls" else {}
            _ok(http.put(f"/plugins/{plugin}", json={"enabled": True, "config": config}))
        key = _ok(http.post("/keys", json={"name": f"{tag}-rotation-{uuid.uuid4().hex[:6]}"}))
        origin = f"https://{tag}-{uuid.uuid4().hex[:6]}.example"
        _ok(http.put("/embed/origins", json={"origins": [origin]}))
        streaming_host = f"rtmp.{tag}-{uuid.uuid4().hex[:6]}.example"
        _ok(http.put("/streaming/hosts", json={"hosts": [streaming_host]}))
        hook_url = f"http://127.0.0.1:9/{tag}-{uuid.uuid4().hex[:6]}"
        hook = _ok(http.post("/webhooks/endpoints", json={"url": hook_url, "description": f"{tag} hooks"}))
        endpoint = hook["endpoint"]["id"]
        message = _ok(http.post(f"/webhooks/endpoints/{endpoint}/test"))["id"]
    side.ids.update(key_id=key["key_id"], endpoint_id=endpoint, message_id=message, origin=origin)
    side.markers |= {
        side.slug,
        side.key_id,
        side.secret,
        side.room,
        room_name,
        key["key_id"],
        key["secret"],
        key["name"],
        origin,
        streaming_host,
        hook_url,
        hook["secret"],
        endpoint,
        message,
    }
    return side


@pytest.fixture(scope="module")
def world(deployment: Deployment, node: Node) -> World:
    """Umbrella (A) with resources of every kind, and Tyrell (B), who attacks them."""
    a, b = _prepare(deployment, node, "umbrella", A_POLLS), _prepare(deployment, node, "tyrell", {})
    # A deck of A's: uploaded with a host's join token, as the presenter's browser does.
    with httpx.Client(base_url=node.url, timeout=30) as http:
        deck = _ok(
            http.post(
                f"/api/v1/plugins/slides/{a.slug}/{a.room}/decks",
                params={"name": f"umbrella-{uuid.uuid4().hex[:6]}.pdf"},
                content=make_pdf(1),
                headers={"Authorization": f"Bearer {a.host_token(a.room)}"},
            )
        )
    a.ids.update(deck=deck["id"])
    a.markers |= {deck["id"], deck["name"]}
    return World(a, b)


# ---- the REST attack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    has_body: bool


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of the OpenAPI document."""
    found = []
    for path, item in sorted(document["paths"].items()):
        for method, op in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            params = op.get("parameters", [])
            found.append(
                Operation(
                    method.upper(),
                    path,
                    tuple(p["name"] for p in params if p["in"] == "path"),
                    tuple(p["name"] for p in params if p["in"] == "query"),
                    "requestBody" in op,
                )
            )
    return found


#: Path parameter → A's values B substitutes (``None``: a name, not one of A's resources).
SUBSTITUTES: dict[str, Callable[[Side], list[str]] | None] = {
    "slug": lambda a: [a.room],
    "participant_id": lambda a: [a.ids["host"], a.ids["waiter"]],
    "key_id": lambda a: [a.key_id, a.ids["key_id"]],
    "recording_id": lambda a: [a.ids["recording"]],
    "stream_id": lambda a: [a.ids["stream"]],
    "endpoint_id": lambda a: [a.ids["endpoint_id"]],
    "message_id": lambda a: [a.ids["message_id"]],
    "tenant": lambda a: [a.slug],
    "room": lambda a: [a.room],
    # Plugin names are the server's: B reads and sets its own switches (see _plugin_switches).
    "name": None,
    # The capability route (see CAPABILITY_ROUTES).
    "deck": lambda a: [a.ids["deck"]],
    "page": None,
}
#: Path parameters also tried inside B's own ``{slug}``/``{tenant}``: only the id is A's.
SCOPED = {"participant_id", "stream_id", "room"}
#: Query parameter → A's value, sent with B's own ids in the path.
QUERIES: dict[tuple[str, str], dict[str, Callable[[Side], str]]] = {
    ("GET", "/api/v1/rooms"): {"after": lambda a: a.room},
    ("GET", "/api/v1/recordings"): {"room": lambda a: a.room, "before": lambda a: a.ids["recording"]},
    ("GET", "/api/v1/rooms/{slug}/chat"): {"before": lambda a: a.ids["chat"]},
    ("DELETE", "/api/v1/embed/origins"): {"origin": lambda a: a.ids["origin"]},
}
#: Bodies that pass validation, so a refusal is about whose resource it is, not the body's shape.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/rooms/{slug}"): {"name": "Taken over", "lobby": False},
    ("POST", "/api/v1/rooms/{slug}/participants/{participant_id}/role"): {"role": "host"},
    ("POST", "/api/v1/rooms/{slug}/participants/{participant_id}/mute"): {"kind": "audio"},
    ("POST", "/api/v1/rooms/{slug}/participants/{participant_id}/stage"): {"on_stage": True},
    ("POST", "/api/v1/rooms/{slug}/tokens"): {"identity": "intruder", "role": "host"},
    ("POST", "/api/v1/rooms/{slug}/viewer-tokens"): {"identity": "intruder"},
    ("POST", "/api/v1/rooms/{slug}/streams"): {},
    ("POST", "/api/v1/rooms/{slug}/breakouts"): {"count": 2},
    ("POST", "/api/v1/rooms/{slug}/breakouts/assign"): {"participant_id": "someone", "breakout": 1},
    ("POST", "/api/v1/rooms/{slug}/breakouts/broadcast"): {"text": "Taken over", "by": "Tyrell"},
    ("PATCH", "/api/v1/webhooks/endpoints/{endpoint_id}"): {"url": "http://127.0.0.1:9/taken-over"},
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"): {},
    ("PUT", "/api/v1/plugins/{name}"): {"enabled": True, "config": {}},
    ("POST", "/api/v1/rooms"): {"slug": f"tyrell-own-{uuid.uuid4().hex[:6]}", "name": "Tyrell's own"},
    ("POST", "/api/v1/keys"): {"name": "tyrell-own"},
    ("PUT", "/api/v1/embed/origins"): {"origins": ["https://tyrell-own.example"]},
    ("POST", "/api/v1/embed/origins"): {"origin": "https://tyrell-also.example"},
    ("PATCH", "/api/v1/tenant"): {"webhook_development": True},
    ("PUT", "/api/v1/streaming/hosts"): {"hosts": ["rtmp.tyrell-own.example"]},
    ("POST", "/api/v1/webhooks/endpoints"): {"url": "http://127.0.0.1:9/tyrell-own"},
    ("POST", "/api/v1/plugins/slides/{tenant}/{room}/decks"): b"%PDF-1.4\n% junk\n",
}


def uncovered(ops: list[Operation]) -> list[str]:
    """Parameters and bodies the tables above do not account for."""
    missing = []
    for op in ops:
        where = f"{op.method} {op.path}"
        missing += [f"{where}: path parameter {p!r}" for p in op.path_params if p not in SUBSTITUTES]
        known = PLAIN_QUERY | PLAIN_QUERY_AT.get((op.method, op.path), set())
        known |= set(QUERIES.get((op.method, op.path), {}))
        missing += [f"{where}: query parameter {q!r}" for q in op.query_params if q not in known]
        if op.has_body and (op.method, op.path) not in BODIES:
            missing.append(f"{where}: request body")
    return missing


def ghost(value: str, rng: random.Random) -> str:
    """A made-up id of the same shape: each run of random hex (and a plain number) redrawn."""
    if value.isdigit():  # a row id: no leading zero, so it stays a valid id of that size
        return rng.choice("123456789") + "".join(rng.choice(string.digits) for _ in value[1:])
    return re.sub(r"[0-9a-f]{6,}", lambda m: "".join(rng.choice("0123456789abcdef") for _ in m[0]), value)


@dataclass
class Request:
    """One request B makes: A's values go in the path and query, each with a made-up double."""

    method: str
    template: str
    path: dict[str, str]
    query: dict[str, str]
    body: Any
    #: A's values among the path and query values → their made-up doubles.
    swapped: dict[str, str]
    #: The ``Authorization`` value for the URL (a token B signs for its room, or B's API secret).
    authorization: Callable[[str], str]

    @property
    def url(self) -> str:
        return self.template.format(**self.path)

    def as_ghost(self) -> Request:
        def swap(values: dict[str, str]) -> dict[str, str]:
            return {k: self.swapped.get(v, v) for k, v in values.items()}

        return Request(
            self.method, self.template, swap(self.path), swap(self.query), self.body, {}, self.authorization
        )

    def sent(self) -> str:
        """Everything B sent: A's values in it are B's own input, not a leak when echoed."""
        body = self.body.decode() if isinstance(self.body, bytes) else json.dumps(self.body)
        return " ".join([self.url, json.dumps(self.query), body])


async def send(http: httpx.AsyncClient, request: Request) -> httpx.Response:
    kwargs: dict[str, Any] = {
        "params": request.query,
        "headers": {"Authorization": request.authorization(request.url)},
    }
    if isinstance(request.body, bytes):
        kwargs["content"] = request.body
    elif request.body is not None:
        kwargs["json"] = request.body
    return await http.request(request.method, request.url, **kwargs)


def requests_for(op: Operation, world: World, rng: random.Random) -> list[Request]:
    """B's requests for ``op``: every combination of A's ids, each also inside B's own container,
    and each query parameter with one of A's values."""
    a, b = world.a, world.b
    own = {"slug": b.room, "tenant": b.slug, "room": b.room, "endpoint_id": b.ids["endpoint_id"]}
    body = BODIES.get((op.method, op.path))

    def authorization(url: str) -> str:
        if op.path in JOIN_TOKEN_ROUTES:  # a host token B signs for the room in the URL
            return f"Bearer {b.host_token(url.split('/')[-2])}"
        return f"Bearer {b.secret}"

    options = []
    for name in op.path_params:
        values = SUBSTITUTES[name]
        assert values is not None, f"{op.path}: {name} is handled apart"
        options.append(values(a))
    made = []
    for combo in itertools.product(*options):
        theirs = dict(zip(op.path_params, combo, strict=True))
        variants = [theirs]
        if any(p in SCOPED for p in op.path_params):
            variants.append({p: v if p in SCOPED or p not in own else own[p] for p, v in theirs.items()})
        for path in variants:
            swapped = {v: ghost(v, rng) for p, v in path.items() if v == theirs[p]}
            made.append(Request(op.method, op.path, path, {}, body, swapped, authorization))
    if op.method == "GET" and op.path_params and all(p in own for p in op.path_params):
        # B's own view through the same route: its rooms, people, chat, log carry nothing of A's.
        made.append(
            Request(op.method, op.path, {p: own[p] for p in op.path_params}, {}, body, {}, authorization)
        )
    for name, value in QUERIES.get((op.method, op.path), {}).items():
        real = value(a)
        path = {p: own[p] for p in op.path_params}
        made.append(
            Request(op.method, op.path, path, {name: real}, body, {real: ghost(real, rng)}, authorization)
        )
    return made


@dataclass
class Verdict:
    """Every check made, and the ones that failed."""

    failures: list[str] = field(default_factory=list)
    tried: int = 0
    held: int = 0

    def check(self, what: str, ok: bool, why: str) -> None:
        self.tried += 1
        if ok:
            self.held += 1
        else:
            self.failures.append(f"{what}: {why}")


def _error(response: httpx.Response) -> tuple[int, str, str] | None:
    """``(status, code, message)`` of a refusal in the documented shape, else ``None``."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return None
    return response.status_code, str(body["error"].get("code")), str(body["error"].get("message"))


def leaks(response: httpx.Response, request: Request, a: Side) -> list[str]:
    """A's data in the answer that B did not send itself."""
    sent = request.sent()
    return sorted(m for m in a.markers if m not in sent and m in response.text)


async def attack(
    http: httpx.AsyncClient, request: Request, world: World, verdict: Verdict, oracle_free: bool = True
) -> None:
    """B's request naming A's resources: refused, leaking nothing, and (``oracle_free``) answered
    exactly as the same request for made-up ids, so it does not even tell that A's exist."""
    what = f"{request.method} {request.url} {request.query or ''}".strip()
    response = await send(http, request)
    leaked = leaks(response, request, world.a)
    verdict.check(what, not leaked, f"the answer carries A's {leaked}: {response.text[:300]}")
    if not request.swapped:  # B's own business (its listings, its settings): no 5xx
        verdict.check(what, response.status_code < 500, f"{response.status_code} {response.text[:200]}")
        return
    got = _error(response)
    if not oracle_free:
        ok = got is not None and got[0] in (401, 403, 404)
        verdict.check(what, ok, f"A's resource answers {got or response.text[:200]}")
        return
    baseline = await send(http, request.as_ghost())
    if response.status_code < 300 and baseline.status_code == response.status_code:
        return  # B's own view (its rooms after one of A's slugs): the same as after an unknown one
    want = _error(baseline)
    if got is not None:
        message = got[2]
        for real, fake in request.swapped.items():
            message = message.replace(real, fake)
        got = (got[0], got[1], message)
    verdict.check(
        what,
        got is not None and got == want and got[0] in (403, 404, 409),
        f"A's id answers {got or response.text[:200]}, a made-up one {want or baseline.text[:200]}",
    )


async def _snapshot(a: Side, http: httpx.AsyncClient) -> dict[str, Any]:
    """What A sees of its own resources (the fields only B's requests could have changed)."""

    async def body(path: str, **params: Any) -> Any:
        response = await http.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    room = f"/rooms/{a.room}"
    return {
        "room": await body(room),
        "rooms": [r["slug"] for r in (await body("/rooms"))["rooms"]],
        "participants": [(p["id"], p["role"]) for p in await body(f"{room}/participants")],
        "lobby": [p["id"] for p in await body(f"{room}/lobby")],
        "keys": [(k["key_id"], k["revoked_at"]) for k in await body("/keys")],
        "origins": await body("/embed/origins"),
        "tenant": await body("/tenant"),
        "hosts": await body("/streaming/hosts"),
        "endpoints": [
            (e["id"], e["url"], e["enabled"], e["events"]) for e in await body("/webhooks/endpoints")
        ],
        "plugins": [(p["name"], p["enabled"], p["config"]) for p in (await body("/plugins"))["plugins"]],
        "streams": [(s["id"], s["state"]) for s in await body(f"{room}/streams")],
        "recordings": [(r["id"], r["state"]) for r in (await body("/recordings", room=a.room))["recordings"]],
        "chat": [(m["id"], m["text"]) for m in (await body(f"{room}/chat"))["messages"]],
    }


async def _start(client: TenantClient, path: str, body: Any = None) -> str:
    """Start an output of a room nobody publishes to (retried while the media node starts)."""
    deadline = time.monotonic() + 30
    while True:
        response = await client.http.post(path, json=body)
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 201, response.text
            return str(response.json()["id"])
        await asyncio.sleep(0.3)


async def test_b_reaches_none_of_a_s_resources_on_any_rest_route(world: World, tally: Tally) -> None:
    a, b, owner = world.a, world.b, world.a.client()
    async with httpx.AsyncClient(base_url=owner.base_url, timeout=30) as http:
        document = (await http.get("/schema/openapi.json")).json()
    ops = operations(document)
    missing = uncovered(ops)
    assert not missing, "routes the isolation tables do not cover yet:\n" + "\n".join(missing)

    # A's live resources: a host, a waiter in the lobby, a chat message, a recording and a stream.
    token = a.host_token(a.room, sub="ursula", name="Ursula Corbett")
    host = await Member.connect(a.node.ws_url, a.slug, a.room, token)
    await _rendered(host, await host.next("welcome"))
    waiter = await owner.join(a.room, "walter-umbrella", expect="lobby.waiting")
    text = f"merger plans {uuid.uuid4().hex[:6]}"
    chat = await host.request({"type": "chat.send", "text": text})
    a.ids.update(host=host.id, waiter=waiter.id, chat=str(chat["id"]))
    a.ids["recording"] = await _start(owner, f"/rooms/{a.room}/recordings")
    a.ids["stream"] = await _start(owner, f"/rooms/{a.room}/streams", {})
    a.markers |= {host.id, waiter.id, "Ursula Corbett", "walter-umbrella", text}
    a.markers |= {a.ids["recording"], a.ids["stream"]}
    await host.quiet(0.3)
    before = await _snapshot(a, owner.http)

    rng, verdict = random.Random(7), Verdict()
    try:
        async with httpx.AsyncClient(base_url=b.node.url, timeout=30) as http:
            for op in ops:
                if op.path in CAPABILITY_ROUTES:
                    await _capability(http, op, world, rng, verdict)
                elif "name" in op.path_params:
                    await _plugin_switches(http, op, world, verdict)
                else:
                    for request in requests_for(op, world, rng):
                        await attack(http, request, world, verdict)
            await _watch(http, world, rng, verdict)
        tally.tried(verdict.tried)
        tally.held(verdict.held)
        assert not verdict.failures, "\n".join(verdict.failures)
        # Nothing reached A: not its room, not its people, not its settings.
        assert await host.quiet(0.5) == []
        assert await _snapshot(a, owner.http) == before
    finally:
        await owner.http.post(f"/rooms/{a.room}/recordings/stop")
        await owner.http.post(f"/rooms/{a.room}/streams/stop")
        await host.leave()
        await waiter.leave()
        await owner.close()


async def _plugin_switches(http: httpx.AsyncClient, op: Operation, world: World, verdict: Verdict) -> None:
    """``/plugins/{name}``: B reads and sets its own switches; A's config never shows."""
    for name in PLUGINS:
        body = BODIES.get((op.method, op.path))
        request = Request(
            op.method, op.path, {"name": name}, {}, body, {}, lambda _: f"Bearer {world.b.secret}"
        )
        response = await send(http, request)
        leaked = leaks(response, request, world.a)
        if name == "polls" and response.json().get("config") == A_POLLS:
            leaked.append("polls config")
        verdict.check(
            f"{op.method} {request.url}", response.status_code == 200 and not leaked, response.text[:300]
        )


async def _watch(http: httpx.AsyncClient, world: World, rng: random.Random, verdict: Verdict) -> None:
    """The HLS routes with viewer tokens B signs: refused, nothing of A's in the answer.

    At B's own URL, A's stream is exactly as absent as a made-up one. At A's URL the stream id
    is one a watch link shares with viewers, so that it exists is no secret: only a refusal is due."""
    a, b = world.a, world.b
    now = int(time.time())
    for template, (tenant, room) in itertools.product(WATCH_ROUTES, [(a.slug, a.room), (b.slug, b.room)]):
        claims = {"iss": b.key_id, "sub": "fan", "room": room, "role": "viewer", "iat": now, "exp": now + 600}
        viewer = jwt.encode(claims, b.secret, "HS256")
        path = {"tenant": tenant, "stream_id": a.ids["stream"]}
        swapped = {a.ids["stream"]: ghost(a.ids["stream"], rng)}
        request = Request("GET", template, path, {"token": viewer}, None, swapped, lambda _: "")
        await attack(http, request, world, verdict, oracle_free=tenant == b.slug)


async def _capability(
    http: httpx.AsyncClient, op: Operation, world: World, rng: random.Random, verdict: Verdict
) -> None:
    """A capability route: a made-up id of the right shape finds nothing (the real one finds the
    page for whoever holds it: that is the design, see CAPABILITY_ROUTES)."""
    url = op.path.format(deck=ghost(world.a.ids["deck"], rng), page=1)
    response = await http.get(url)
    verdict.check(
        f"GET {url}", _error(response) is not None and response.status_code == 404, response.text[:200]
    )


# ---- the WebSocket -----------------------------------------------------------------------------------


def _plugin(name: str, action: str, **data: Any) -> dict[str, Any]:
    return {"type": "plugin", "plugin": name, "action": action, "data": data}


async def test_b_s_people_cannot_reach_into_a_s_room(world: World, tally: Tally) -> None:
    a, b, owner = world.a, world.b, world.a.client()
    host = await Member.connect(a.node.ws_url, a.slug, a.room, a.host_token(a.room, sub="ursula"))
    await _rendered(host, await host.next("welcome"))
    guest = await owner.join(a.room, "gina-umbrella", expect="lobby.waiting")
    assert (await owner.http.post(f"/rooms/{a.room}/lobby/{guest.id}/admit")).status_code == 204
    await guest.next("welcome")
    waiter = await owner.join(a.room, "walter-umbrella", expect="lobby.waiting")
    create = _plugin("polls", "create", question="Merge?", options=["yes", "no"])
    poll = (await host.request(create))["id"]
    question = (await guest.request(_plugin("qa", "question.ask", text="When is the merger?")))["id"]
    assert (await guest.request({"type": "self.update", "hand_raised": True}))["type"] == "ack"
    attacker = await Member.connect(b.node.ws_url, b.slug, b.room, b.host_token(b.room, sub="roy"))
    await attacker.next("welcome")
    audit = await _plugin_states(a)
    members = [host, guest, waiter]
    for member in members:
        await member.quiet(0.3)

    signal = {"type": "rtc.signal", "to": host.id, "instance": "x", "candidate": {"candidate": ""}}
    private = {"type": "chat.send", "to": "participant", "recipient": guest.id, "text": "psst"}
    commands: list[tuple[dict[str, Any], str]] = [
        *[
            ({"type": "participant.kick", "participant_id": who.id}, "participant_not_found")
            for who in (host, guest, waiter)
        ],
        ({"type": "participant.ask_mute", "participant_id": guest.id}, "participant_not_found"),
        (
            {"type": "participant.set_role", "participant_id": guest.id, "role": "host"},
            "participant_not_found",
        ),
        ({"type": "participant.lower_hand", "participant_id": guest.id}, "participant_not_found"),
        ({"type": "lobby.admit", "participant_id": waiter.id}, "not_in_lobby"),
        ({"type": "lobby.deny", "participant_id": waiter.id}, "not_in_lobby"),
        (signal, "participant_not_found"),
        (private, "participant_not_found"),
        (_plugin("slides", "present", deck_id=a.ids["deck"]), "deck_not_found"),
        (_plugin("polls", "vote", poll_id=poll, choices=[0]), "poll_not_found"),
        (_plugin("polls", "close", poll_id=poll), "poll_not_found"),
        (_plugin("polls", "reveal", poll_id=poll), "poll_not_found"),
        (_plugin("qa", "question.upvote", question_id=question), "question_not_found"),
        (_plugin("qa", "question.answer", question_id=question), "question_not_found"),
        (_plugin("qa", "question.dismiss", question_id=question), "question_not_found"),
        # B's own room's state: acknowledged there, and nothing of A's changes.
        (_plugin("layouts", "set", layout="presentation", presenter=host.id), "ack"),
    ]
    # And the other way round: A's host aiming at B's participant from A's room.
    reverse: list[tuple[dict[str, Any], str]] = [
        ({"type": "participant.kick", "participant_id": attacker.id}, "participant_not_found"),
        ({"type": "participant.ask_mute", "participant_id": attacker.id}, "participant_not_found"),
        (
            {"type": "participant.set_role", "participant_id": attacker.id, "role": "attendee"},
            "participant_not_found",
        ),
        ({"type": "lobby.deny", "participant_id": attacker.id}, "not_in_lobby"),
        ({**signal, "to": attacker.id}, "participant_not_found"),
        ({**private, "recipient": attacker.id}, "participant_not_found"),
    ]
    verdict = Verdict()
    for sender, batch in ((host, reverse), (attacker, commands)):
        for command, code in batch:
            reply = await sender.request(command)
            verdict.check(json.dumps(command)[:120], reply.get("code", reply["type"]) == code, str(reply))
        if sender is host:
            heard = await attacker.quiet(0.5)
            verdict.check("B's participant, aimed at from A's room", heard == [], f"it heard {heard}")

    a_token = a.host_token(a.room, sub="ursula")
    re_issued = {**jwt.decode(a_token, options={"verify_signature": False}), "iss": b.key_id}
    joins = [
        (
            "B's token for A's room, at A's URL",
            b.host_token(a.room),
            a.slug,
            a.room,
            (4403, "token_wrong_tenant"),
        ),
        ("B's token, B's URL, A's room slug", b.host_token(a.room), b.slug, a.room, (4404, "room_not_found")),
        ("A's own token at B's URL", a_token, b.slug, a.room, (4403, "token_wrong_tenant")),
        (
            "A's token re-issued as B's key",
            jwt.encode(re_issued, a.secret, "HS256"),
            a.slug,
            a.room,
            (4401, "token_invalid"),
        ),
    ]
    for name, token, tenant, room, want in joins:
        close, reason, _ = await refused(a.node.ws_url, tenant, room, token)
        verdict.check(name, (close, reason) == want, f"{close} {reason}")
    # The same identity in B's room is someone else: A's host is not replaced.
    twin = await Member.connect(b.node.ws_url, b.slug, b.room, b.host_token(b.room, sub="ursula"))
    await twin.next("welcome")
    await twin.leave()

    tally.tried(verdict.tried)
    tally.held(verdict.held)
    assert not verdict.failures, "\n".join(verdict.failures)
    for member in members:
        assert await member.quiet(0.5) == [], "A's room heard something"
    inside = (await owner.http.get(f"/rooms/{a.room}/participants")).json()
    assert {p["id"] for p in inside} == {host.id, guest.id}
    assert [p["id"] for p in (await owner.http.get(f"/rooms/{a.room}/hands")).json()] == [guest.id]
    assert [p["id"] for p in (await owner.http.get(f"/rooms/{a.room}/lobby")).json()] == [waiter.id]
    assert await _plugin_states(a) == audit
    for member in [*members, attacker]:
        await member.leave()
    await owner.close()


async def _plugin_states(a: Side) -> dict[str, Any]:
    """Each plugin's state in A's room as a host joining now sees it (then leaves again)."""
    auditor = await Member.connect(a.node.ws_url, a.slug, a.room, a.host_token(a.room, sub="auditor"))
    welcome = await auditor.next("welcome")
    await auditor.leave()
    return {p["name"]: p["state"] for p in welcome["plugins"]}


async def _rendered(host: Member, welcome: dict[str, Any]) -> None:
    """Wait until A's deck is rendered, so its ``deck`` event cannot arrive during the attack."""
    slides = next(p["state"] for p in welcome["plugins"] if p["name"] == "slides")
    if any(deck["status"] == "rendering" for deck in slides["decks"]):
        while (await host.next("plugin.event", 30, plugin="slides", event="deck"))["data"][
            "status"
        ] == "rendering":
            pass


async def test_a_deleted_room_leaves_nothing_to_the_next_room(world: World, tally: Tally) -> None:
    """SQLite hands a deleted row's id to the next row: B's new room must start empty all the same."""
    a, b = world.a, world.b
    owner, attacker = a.client(), b.client()
    slug = f"umbrella-gone-{uuid.uuid4().hex[:6]}"
    gone = (await owner.http.post("/rooms", json={"slug": slug, "name": "Umbrella secret offsite"})).json()
    host = await Member.connect(a.node.ws_url, a.slug, slug, a.host_token(slug, sub="ursula"))
    await host.next("welcome")
    await host.request(_plugin("polls", "create", question="Sell the lab?", options=["yes", "no"]))
    await host.request(_plugin("qa", "question.ask", text="Who knows about the lab?"))
    await host.request({"type": "chat.send", "text": "the lab is in Raccoon City"})
    kicked = await owner.join(slug, "nemesis")
    assert (await host.request({"type": "participant.kick", "participant_id": kicked.id}))["type"] == "ack"
    assert (await owner.http.delete(f"/rooms/{slug}")).status_code == 204
    await host.closed()

    made = await attacker.http.post(
        "/rooms", json={"slug": f"tyrell-new-{uuid.uuid4().hex[:6]}", "name": "New"}
    )
    room = made.json()
    newcomer = await Member.connect(
        b.node.ws_url, b.slug, room["slug"], b.host_token(room["slug"], sub="nemesis")
    )
    welcome = await newcomer.next("welcome")
    states = {p["name"]: p["state"] for p in welcome["plugins"]}
    checks = {
        "no chat": welcome["chat"] == [],
        "no polls": states["polls"]["polls"] == [],
        "no questions": states["qa"]["questions"] == [],
        "no raised hands": welcome["you"]["hand_raised_at"] is None
        and all(p["hand_raised_at"] is None for p in welcome["participants"]),
        "the kicked identity of A's room is welcome": welcome["you"]["identity"] == "nemesis",
        "no chat over REST": (await attacker.http.get(f"/rooms/{room['slug']}/chat")).json()["messages"]
        == [],
    }
    tally.tried(len(checks))
    tally.held(sum(checks.values()))
    assert all(checks.values()), (checks, room["id"], gone["id"], welcome)
    await newcomer.leave()
    await asyncio.gather(owner.close(), attacker.close())
