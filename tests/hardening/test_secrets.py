"""Secrets at rest and in logs: what a stolen database dump or a shipped log file gives away.

API secrets are stored as hashes, signing and webhook secrets sealed under the master key;
join tokens, API secrets and webhook secrets never appear in a log line, even in the access
log of a request that carries one in its URL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from tests.hardening.conftest import Tally
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node


async def _database_text(deployment: Deployment) -> str:
    """Every row of every table, as text: what a dump of the database shows."""
    if not deployment.database_url:
        with sqlite3.connect(deployment.data_dir / "podium.sqlite3") as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return "\n".join(repr(db.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    conn = await asyncpg.connect(deployment.database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return "\n".join([repr(await conn.fetch(f'SELECT * FROM "{t}"')) for t in tables])
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=["text", "json"])
def logging_node(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[Node]:
    """A node logging at ``info`` (the access log included) in either format."""
    node = Node(deployment, PODIUM_LOG_LEVEL="info", PODIUM_LOG_FORMAT=request.param)
    yield node
    node.stop()


async def test_a_database_dump_holds_no_usable_secret(
    acme: TenantClient, deployment: Deployment, tally: Tally
) -> None:
    endpoint = await acme.http.post(
        "/webhooks/endpoints", json={"url": "https://93.184.215.14/podium", "events": ["recording.ready"]}
    )
    assert endpoint.status_code == 201, endpoint.text
    webhook_secret = endpoint.json()["secret"]
    key = (await acme.http.post("/keys", json={"name": "dump check"})).json()
    dump = await _database_text(deployment)
    secrets = {"API secret": acme.secret, "new API secret": key["secret"], "webhook secret": webhook_secret}
    for what, secret in secrets.items():
        # Neither the secret nor its distinctive random part is in the dump.
        assert secret not in dump and secret.split("_", 1)[1] not in dump, f"{what} stored in clear"
    assert acme.key_id in dump  # the dump is the real one: it holds the (public) key ids
    tally.tried(len(secrets))
    tally.held(len(secrets))


async def test_tokens_and_secrets_never_reach_the_logs(
    logging_node: Node, deployment: Deployment, tally: Tally
) -> None:
    issued = deployment.create_tenant(f"Logs {uuid.uuid4().hex[:6]}")
    client = TenantClient(
        logging_node.url, logging_node.ws_url, issued["tenant"], issued["key_id"], issued["secret"]
    )
    try:
        room = (await client.room())["slug"]
        token = await client.token(room, "ann")
        member = await Member.connect(logging_node.ws_url, issued["tenant"], room, token)
        await member.next("welcome")
        await member.leave()
        # A refused token, a wrong API secret, a token in a page URL, a webhook secret in a body.
        forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        bad = await Member.connect(logging_node.ws_url, issued["tenant"], room, forged)
        assert (await bad.closed())[0] == 4401
        wrong_secret = "sk_" + uuid.uuid4().hex + uuid.uuid4().hex
        async with httpx.AsyncClient(base_url=logging_node.url) as http:
            assert (
                await http.get("/api/v1/rooms", headers={"Authorization": f"Bearer {wrong_secret}"})
            ).status_code == 401
            await http.get(f"/r/{issued['tenant']}/{room}", params={"token": token})
        whsec = (
            await client.http.post(
                "/webhooks/endpoints", json={"url": "https://93.184.215.14/x", "events": ["recording.ready"]}
            )
        ).json()["secret"]
    finally:
        await client.close()
    await asyncio.sleep(0.3)  # the access log is written after the response
    logs = logging_node.output()
    assert f"/ws/{issued['tenant']}/{room}" in logs, "the requests were not logged at all"
    leaks = {"join token": token, "forged token": forged, "API secret": issued["secret"]}
    leaks |= {"wrong API secret": wrong_secret, "webhook secret": whsec}
    for what, secret in leaks.items():
        tally.tried()
        assert secret not in logs, f"{what} in the log"
        # Nor a token's signature, nor a secret's random part without its prefix.
        part = secret.rsplit(".", 1)[-1] if secret.startswith("eyJ") else secret.split("_", 1)[-1]
        assert len(part) >= 20 and part not in logs, what
        tally.held()
