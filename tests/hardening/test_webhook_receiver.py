"""Webhooks as an embedder's server receives them, checked with the ``standardwebhooks`` library,
and the URLs a tenant might use to make Podium call into its own network (SSRF).

A real receiver on 127.0.0.1 (so the tenant needs its webhook development flag) verifies every
delivery the way an embedder would; captured deliveries are then altered (body, timestamp, id,
secret, headers) and must all fail verification. Without the flag, loopback, private,
link-local and metadata addresses in every spelling are refused, for webhooks and for RTMP
destinations alike, and a receiver's redirect is never followed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from podium.core.webhooks.addresses import Pinned
from podium.core.webhooks.transport import EXCERPT_CHARS, delivery_client, post
from tests.hardening.conftest import Tally
from tests.support.client import TenantClient
from tests.support.server import Deployment, Node

#: Retries ~0.2 s apart, so a whole schedule runs in about a second.
FAST = {
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2,0.2,0.2",
    "PODIUM_WEBHOOK_SWEEP_INTERVAL": "0.5",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_WEBHOOK_LEASE": "3",
    # RTMP destinations get the same address checks as webhooks (the shared nodes lift them).
    "PODIUM_STREAMING_PRIVATE_ADDRESSES": "false",
}


# ---- a receiver --------------------------------------------------------------------------------------


@dataclass
class Captured:
    """One request as the receiver got it: headers (lower-case) and the exact body bytes."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What the receiver answers: a status, headers, and a body (``endless``: a body without end)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    endless: bool = False


class Receiver:
    """An embedder's webhook receiver on a free loopback port; ``script`` holds the next answers."""

    def __init__(self) -> None:
        self.script: deque[Answer] = deque()
        #: The answer once ``script`` is used up.
        self.default = Answer()
        self.got: list[Captured] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.got.append(Captured({k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.script.popleft() if receiver.script else receiver.default
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if not answer.endless:
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                self.end_headers()  # no length: the body ends when the connection does
                try:
                    while True:
                        self.wfile.write(b"x" * 65536)
                except OSError:
                    pass  # Podium hung up: what this answer is for

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait(self, count: int, timeout: float = 15) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while True:
            if len(self.got) >= count or time.monotonic() > deadline:
                assert len(self.got) >= count, f"{len(self.got)} deliveries; want {count}"
                return list(self.got)
            await asyncio.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks_node(deployment: Deployment) -> Iterator[Node]:
    server = Node(deployment, **FAST)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def issued(deployment: Deployment, hooks_node: Node) -> dict[bool, dict[str, Any]]:
    """Two tenants, by their webhook development flag: on (endpoints may be on loopback), off."""
    tenants = {}
    for development in (True, False):
        keys = deployment.create_tenant(f"Receiver {uuid.uuid4().hex[:8]}")
        flag = httpx.patch(
            f"{hooks_node.url}/api/v1/tenant",
            json={"webhook_development": development},
            headers={"Authorization": f"Bearer {keys['secret']}"},
        )
        assert flag.json()["webhook_development"] is development
        tenants[development] = keys
    return tenants


async def _client(node: Node, keys: dict[str, Any]) -> TenantClient:
    return TenantClient(node.url, node.ws_url, keys["tenant"], keys["key_id"], keys["secret"])


@pytest.fixture
async def developer(hooks_node: Node, issued: dict[bool, dict[str, Any]]) -> AsyncIterator[TenantClient]:
    """The tenant with the webhook development flag on."""
    client = await _client(hooks_node, issued[True])
    yield client
    await client.close()


@pytest.fixture
async def production(hooks_node: Node, issued: dict[bool, dict[str, Any]]) -> AsyncIterator[TenantClient]:
    """The tenant with the flag off, as in production."""
    client = await _client(hooks_node, issued[False])
    yield client
    await client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


async def _endpoint(client: TenantClient, url: str) -> tuple[str, str]:
    response = await client.http.post("/webhooks/endpoints", json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()["endpoint"]["id"], response.json()["secret"]


async def _send_test(client: TenantClient, endpoint_id: str) -> str:
    sent = await client.http.post(f"/webhooks/endpoints/{endpoint_id}/test")
    assert sent.status_code == 202, sent.text
    return str(sent.json()["id"])


async def _first_attempt(client: TenantClient, msg_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = (await client.http.get(f"/webhooks/messages/{msg_id}")).json()
        if found["attempt_log"] or time.monotonic() > deadline:
            return dict(found["attempt_log"][0])
        await asyncio.sleep(0.05)


async def _settled(client: TenantClient, msg_id: str, timeout: float = 15) -> dict[str, Any]:
    """The message once it is no longer pending (or after ``timeout``), with its attempt log."""
    deadline = time.monotonic() + timeout
    while True:
        found = (await client.http.get(f"/webhooks/messages/{msg_id}")).json()
        if found["status"] != "pending" or time.monotonic() > deadline:
            return dict(found)
        await asyncio.sleep(0.1)


def _refused(verifier: Webhook, body: bytes, headers: dict[str, str], tally: Tally) -> bool:
    """Whether ``standardwebhooks`` refuses this (altered) delivery; counted in the tally."""
    tally.tried()
    try:
        verifier.verify(body, headers)
    except WebhookVerificationError:
        tally.held()
        return True
    return False


# ---- signatures --------------------------------------------------------------------------------------


async def test_deliveries_verify_with_standard_webhooks_and_altered_ones_do_not(
    developer: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    endpoint_id, secret = await _endpoint(developer, receiver.url)
    sent = [await _send_test(developer, endpoint_id) for _ in range(3)]
    got = await receiver.wait(3)
    verifier = Webhook(secret)
    for delivery in got:
        tally.tried()
        payload = verifier.verify(delivery.body, delivery.headers)
        tally.held()
        assert payload["type"] == "webhook.test" and payload["data"] == {"tenant": developer.slug}
        assert delivery.headers["content-type"] == "application/json"
    assert sorted(d.headers["webhook-id"] for d in got) == sorted(sent)

    delivery = got[0]
    body, headers = delivery.body, delivery.headers
    assert got[1].body != body  # each event has its own timestamp
    stamp = int(headers["webhook-timestamp"])
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    altered: dict[str, tuple[bytes, dict[str, str], Webhook]] = {
        "a byte of the body": (body.replace(b"webhook.test", b"webhook.tesT"), headers, verifier),
        "whitespace after the body": (body + b"\n", headers, verifier),
        "the body re-serialised": (json.dumps(json.loads(body), indent=1).encode(), headers, verifier),
        "another message's body": (got[1].body, headers, verifier),
        "the timestamp a second later": (body, {**headers, "webhook-timestamp": str(stamp + 1)}, verifier),
        "a replay ten minutes old": (body, {**headers, "webhook-timestamp": str(stamp - 600)}, verifier),
        "a timestamp ten minutes ahead": (body, {**headers, "webhook-timestamp": str(stamp + 600)}, verifier),
        "another message id": (body, {**headers, "webhook-id": got[1].headers["webhook-id"]}, verifier),
        "a wrong secret": (body, headers, Webhook(other)),
        "a signature by a wrong secret": (
            body,
            {**headers, "webhook-signature": _sign(other, delivery)},
            verifier,
        ),
        "an unversioned signature": (
            body,
            {**headers, "webhook-signature": headers["webhook-signature"].removeprefix("v1,")},
            verifier,
        ),
    }
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        altered[f"no {header}"] = (body, {k: v for k, v in headers.items() if k != header}, verifier)
    survived = [what for what, (b, h, v) in altered.items() if not _refused(v, b, h, tally)]
    assert survived == [], f"standardwebhooks accepted altered deliveries: {survived}"


def _sign(secret: str, delivery: Captured) -> str:
    """A well-formed signature of ``delivery`` under another secret."""
    stamp = datetime.fromtimestamp(int(delivery.headers["webhook-timestamp"]), UTC)
    return Webhook(secret).sign(delivery.headers["webhook-id"], stamp, delivery.body)


async def test_after_rotation_both_secrets_verify_until_the_old_one_lapses(
    developer: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    endpoint_id, old = await _endpoint(developer, receiver.url)
    rotated = await developer.http.post(f"/webhooks/endpoints/{endpoint_id}/rotate-secret", json={})
    new = rotated.json()["secret"]
    await _send_test(developer, endpoint_id)
    delivery = (await receiver.wait(1))[0]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        tally.tried()
        Webhook(secret).verify(delivery.body, delivery.headers)
        tally.held()
    stranger = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    assert _refused(Webhook(stranger), delivery.body, delivery.headers, tally)


# ---- retries, 410, redirects, answers ----------------------------------------------------------------


async def test_a_failing_receiver_gets_the_same_message_id_until_it_answers(
    developer: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    endpoint_id, secret = await _endpoint(developer, receiver.url)
    receiver.script.extend([Answer(500), Answer(503), Answer(429), Answer(404)])
    msg_id = await _send_test(developer, endpoint_id)
    found = await _settled(developer, msg_id)
    got = await receiver.wait(5)
    tally.tried()
    assert found["status"] == "delivered" and found["attempts"] == 5, found
    assert [a["status_code"] for a in found["attempt_log"]] == [500, 503, 429, 404, 200]
    assert {d.headers["webhook-id"] for d in got} == {msg_id}
    for delivery in got:
        Webhook(secret).verify(delivery.body, delivery.headers)  # every retry is signed afresh
    assert len({d.body for d in got}) == 1, "every retry carries the same event"
    tally.held()


async def test_gone_disables_the_endpoint(developer: TenantClient, receiver: Receiver, tally: Tally) -> None:
    endpoint_id, _ = await _endpoint(developer, receiver.url)
    receiver.script.append(Answer(410))
    found = await _settled(developer, await _send_test(developer, endpoint_id))
    tally.tried()
    assert found["status"] == "failed" and found["last_status_code"] == 410, found
    endpoint = (await developer.http.get(f"/webhooks/endpoints/{endpoint_id}")).json()
    assert endpoint["enabled"] is False and "410" in endpoint["disabled_reason"], endpoint
    again = await developer.http.post(f"/webhooks/endpoints/{endpoint_id}/test")
    assert again.status_code == 409 and again.json()["error"]["code"] == "webhook_endpoint_disabled"
    await asyncio.sleep(1)
    assert len(receiver.got) == 1, "nothing more is sent to a disabled endpoint"
    tally.held()


async def test_redirects_are_never_followed(
    developer: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    # The second receiver stands for what a redirect points at: it must never be called.
    target = Receiver()
    try:
        endpoint_id, _ = await _endpoint(developer, receiver.url)
        for status in (301, 302, 303, 307, 308):
            for location in (target.url, "http://169.254.169.254/latest/meta-data/"):
                tally.tried()
                receiver.default = Answer(status, {"location": location})
                attempt = await _first_attempt(developer, await _send_test(developer, endpoint_id))
                assert attempt["status_code"] == status, attempt
                assert target.got == []
                tally.held()
    finally:
        target.close()


async def test_an_endless_answer_does_not_hold_the_delivery(
    developer: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    endpoint_id, _ = await _endpoint(developer, receiver.url)
    receiver.script.append(Answer(200, endless=True))
    tally.tried()
    started = time.monotonic()
    found = await _settled(developer, await _send_test(developer, endpoint_id), timeout=10)
    assert found["status"] == "delivered", found
    assert time.monotonic() - started < 5
    assert found["attempt_log"][0]["response_body"] == "x" * EXCERPT_CHARS
    tally.held()


# ---- SSRF: webhook URLs ------------------------------------------------------------------------------


def _hosts_file_names() -> list[str]:
    """Names /etc/hosts maps to loopback or private addresses (besides ``localhost``)."""
    names: list[str] = []
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0].startswith(("127.", "10.", "192.168.")):
            names += [name for name in fields[1:] if name != "localhost"]
    return names[:2]


PRIVATE = "webhook_url_private"
INVALID = "invalid_webhook_url"
UNRESOLVABLE = "webhook_url_unresolvable"
#: URL → the codes it may be refused with (a name's resolution depends on the machine).
SSRF_URLS: dict[str, set[str]] = {
    "http://127.0.0.1/hooks": {PRIVATE},
    "http://127.0.0.1:6379/": {PRIVATE},
    "http://localhost/hooks": {PRIVATE},
    "http://LOCALHOST:8080/hooks": {PRIVATE},
    "http://localhost./hooks": {PRIVATE, UNRESOLVABLE},
    "http://[::1]/hooks": {PRIVATE},
    "http://[::]/": {PRIVATE},
    "http://0.0.0.0/": {PRIVATE},
    "http://0/": {PRIVATE},
    "http://10.0.0.1/": {PRIVATE},
    "http://172.16.0.1/": {PRIVATE},
    "http://192.168.1.1/": {PRIVATE},
    "http://100.64.0.1/": {PRIVATE},
    "http://169.254.169.254/latest/meta-data/": {PRIVATE},
    "http://[fd00:ec2::254]/latest/meta-data/": {PRIVATE},
    "http://[fe80::1]/": {PRIVATE},
    "http://224.0.0.1/": {PRIVATE},
    "http://255.255.255.255/": {PRIVATE},
    "http://[::ffff:127.0.0.1]/": {PRIVATE},
    "http://[::ffff:7f00:1]/": {PRIVATE},
    "http://[::ffff:169.254.169.254]/": {PRIVATE},
    # IPv6 forms that carry an IPv4 address to a translator or tunnel.
    "http://[64:ff9b::7f00:1]/": {PRIVATE},
    "http://[64:ff9b::a9fe:a9fe]/": {PRIVATE},
    "http://[64:ff9b:1::a00:1]/": {PRIVATE},
    "http://[2002:7f00:1::]/": {PRIVATE},
    "http://[::127.0.0.1]/": {PRIVATE},
    "http://[::ffff:0:127.0.0.1]/": {PRIVATE},
    # Spellings of 127.0.0.1 the resolver takes (inet_aton).
    "http://2130706433/": {PRIVATE},
    "http://0x7f000001/": {PRIVATE},
    "http://0x7f.1/": {PRIVATE},
    "http://0177.0.0.1/": {PRIVATE},
    "http://017700000001/": {PRIVATE},
    "http://127.1/": {PRIVATE},
    "http://127.000.000.001/": {PRIVATE},
    "http://2852039166/": {PRIVATE},  # 169.254.169.254
    # Userinfo and other tricks that make a public-looking URL reach loopback.
    "http://hooks.example.com@127.0.0.1/": {INVALID},
    "http://hooks.example.com:443@127.0.0.1/": {INVALID},
    "http://@127.0.0.1/": {INVALID},
    "http://127.0.0.1#@hooks.example.com/": {PRIVATE},
    "http://127.0.0.1?@hooks.example.com/": {PRIVATE},
    "http://127.0.0.1\\@hooks.example.com/": {INVALID},
    # Not http(s), or not a URL.
    "file:///etc/passwd": {INVALID},
    "gopher://127.0.0.1:6379/_INFO": {INVALID},
    "ftp://127.0.0.1/": {INVALID},
    "dict://127.0.0.1:11211/": {INVALID},
    "ws://127.0.0.1/": {INVALID},
    "javascript:alert(1)": {INVALID},
    "//127.0.0.1/hooks": {INVALID},
    "http:///hooks": {INVALID},
    "http://[::1/hooks": {INVALID},
    "http://[not-an-address]/": {INVALID},
    "http://127.0.0.1:0/": {INVALID},
    "http://127.0.0.1:99999/": {INVALID},
    "http://" + "a" * 64 + ".example/": {INVALID},
    "http://\uff0e/": {INVALID},
} | {f"http://{name}/hooks": {PRIVATE} for name in _hosts_file_names()}


async def test_internal_addresses_are_refused_without_the_development_flag(
    production: TenantClient, tally: Tally
) -> None:
    wrong: list[tuple[str, int, str]] = []
    for url, codes in SSRF_URLS.items():
        tally.tried()
        response = await production.http.post("/webhooks/endpoints", json={"url": url})
        code = response.json().get("error", {}).get("code", "") if response.status_code != 201 else "created"
        if response.status_code == 422 and code in codes:
            tally.held()
        else:
            wrong.append((url, response.status_code, code))
    assert wrong == []
    assert (await production.http.get("/webhooks/endpoints")).json() == []


async def test_the_development_flag_allows_loopback_only_for_its_tenant(
    developer: TenantClient, production: TenantClient, receiver: Receiver, tally: Tally
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    for url in (receiver.url, f"http://localhost:{port}/hooks", f"http://[::1]:{port}/hooks"):
        tally.tried()
        assert (await developer.http.post("/webhooks/endpoints", json={"url": url})).status_code == 201
        tally.held()
    # The flag changes nothing about what a URL must look like.
    for url in ("gopher://127.0.0.1/", "http://user:pw@127.0.0.1/", "http://[::1/"):
        tally.tried()
        refused = await developer.http.post("/webhooks/endpoints", json={"url": url})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == INVALID, url
        tally.held()
    tally.tried()
    other = await production.http.post("/webhooks/endpoints", json={"url": receiver.url})
    assert other.status_code == 422 and other.json()["error"]["code"] == PRIVATE
    tally.held()


async def test_only_the_operator_lets_tenants_reach_private_addresses(
    deployment: Deployment, issued: dict[bool, dict[str, Any]], receiver: Receiver, tally: Tally
) -> None:
    """Without ``PODIUM_WEBHOOK_PRIVATE_ADDRESSES`` the development flag is neither set nor obeyed."""
    strict = Node(deployment, PODIUM_WEBHOOK_PRIVATE_ADDRESSES="false")
    try:
        fresh = await _client(strict, deployment.create_tenant(f"Gate {uuid.uuid4().hex[:8]}"))
        developer = await _client(strict, issued[True])  # turned its flag on through another node
        try:
            tally.tried(3)
            turned_on = await fresh.http.patch("/tenant", json={"webhook_development": True})
            assert turned_on.status_code == 403
            assert turned_on.json()["error"]["code"] == "webhook_development_not_allowed"
            assert (await fresh.http.get("/tenant")).json()["webhook_development_allowed"] is False
            shown = (await developer.http.get("/tenant")).json()
            assert shown["webhook_development"] is False
            refused = await developer.http.post("/webhooks/endpoints", json={"url": receiver.url})
            assert refused.status_code == 422 and refused.json()["error"]["code"] == PRIVATE
            tally.held(3)
        finally:
            await fresh.close()
            await developer.close()
    finally:
        strict.stop()


# ---- SSRF: RTMP destinations -------------------------------------------------------------------------

RTMP_PRIVATE = [
    "rtmp://127.0.0.1/live/key",
    "rtmp://localhost/live/key",
    "rtmp://10.0.0.1/live/key",
    "rtmp://169.254.169.254/live/key",
    "rtmp://2130706433/live/key",
    "rtmp://0x7f.1:1935/live/key",
    "rtmps://0/live/key",
]
RTMP_INVALID = [
    "rtmp://user:pw@127.0.0.1/live/key",
    "rtmp://a.rtmp.example.com@127.0.0.1/live/key",
    "http://127.0.0.1/live/key",
    "rtmp://[::1/live/key",
    "rtmp://127.0.0.1:99999/live/key",
]


async def test_rtmp_destinations_get_the_same_address_checks(production: TenantClient, tally: Tally) -> None:
    hosts = ["127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254", "2130706433", "0x7f.1", "0"]
    assert (await production.http.put("/streaming/hosts", json={"hosts": hosts})).status_code == 200
    room = (await production.room())["slug"]
    wrong: list[tuple[str, int, str]] = []
    for urls, code in ((RTMP_PRIVATE, "rtmp_host_private"), (RTMP_INVALID, "invalid_rtmp_url")):
        for url in urls:
            tally.tried()
            response = await production.http.post(f"/rooms/{room}/streams", json={"destination": url})
            got = response.json().get("error", {}).get("code", "")
            if response.status_code == 422 and got == code:
                tally.held()
            else:
                wrong.append((url, response.status_code, got))
    assert wrong == []


# ---- the delivery transport, against a TLS receiver --------------------------------------------------


@dataclass
class TlsReceiver:
    """A TLS receiver on loopback for ``hooks.podium.test`` and ``other.podium.test`` (test CA)."""

    port: int
    client_context: ssl.SSLContext
    seen: list[tuple[str | None, str]]  # (TLS server name, Host header) per request
    server: ThreadingHTTPServer


def _certificates(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for the two receiver names: (ca, cert, key) PEM files."""
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Podium test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName("hooks.podium.test"), x509.DNSName("other.podium.test")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.podium.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return paths


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[TlsReceiver]:
    ca, cert, key = _certificates(tmp_path)
    seen: list[tuple[str | None, str]] = []
    names: dict[int, str | None] = {}

    def remember(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        names[id(sock)] = name

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = remember

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps connections open, as most receivers do

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.append((names.get(id(self.connection)), self.headers.get("host", "")))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[socket.socket, Any]:
            sock, address = super().get_request()
            return context.wrap_socket(sock, server_side=True), address

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield TlsReceiver(server.server_address[1], ssl.create_default_context(cafile=str(ca)), seen, server)
    server.shutdown()
    server.server_close()


async def test_a_pinned_delivery_keeps_the_urls_host_name_for_tls_and_host(
    tls_receiver: TlsReceiver, tally: Tally
) -> None:
    """What ``check_url`` checked is what is connected to: no second lookup (these names do not
    even resolve), while the receiver still sees its own name in TLS and in ``Host``."""
    port = tls_receiver.port
    client = delivery_client(5, verify=tls_receiver.client_context)
    try:
        for name in ("hooks.podium.test", "other.podium.test", "hooks.podium.test"):
            tally.tried()
            url = f"https://{name}:{port}/hooks"
            status, excerpt = await post(client, Pinned(url, "127.0.0.1"), b"{}", {}, deadline=5)
            assert (status, excerpt) == (200, "ok")
            assert tls_receiver.seen[-1] == (name, f"{name}:{port}")
            tally.held()
        # The certificate is checked against the URL's name, not the address connected to.
        tally.tried()
        with pytest.raises(httpx.ConnectError):
            await post(client, Pinned(f"https://evil.podium.test:{port}/", "127.0.0.1"), b"{}", {}, 5)
        tally.held()
    finally:
        await client.aclose()


async def test_a_receiver_that_trickles_its_answer_is_cut_off(tally: Tally) -> None:
    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.2)  # each read comes well within httpx's timeout
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = delivery_client(5)
    try:
        tally.tried()
        started = time.monotonic()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with pytest.raises(TimeoutError):
            await post(client, Pinned(url, None), b"{}", {}, deadline=1)
        assert time.monotonic() - started < 3
        tally.held()
    finally:
        await client.aclose()
        server.shutdown()
        server.server_close()
