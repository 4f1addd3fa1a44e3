"""``podium worker`` delivers webhooks; killing it mid-delivery loses nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from podium.core.webhooks import verify
from tests.conftest import BACKENDS, dispose, make_deployment
from tests.core.test_webhooks import FAST, add_endpoint, settled
from tests.support.client import TenantClient
from tests.support.server import PODIUM, Deployment, Node
from tests.support.webhooks import Receiver


@pytest.fixture(scope="module", params=BACKENDS)
def jobs_elsewhere(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A deployment whose web node runs no jobs: only ``podium worker`` processes deliver."""
    dep = make_deployment(request.param, **FAST, PODIUM_SERVE_RUNS_JOBS="0")
    dep.cli("migrate")
    yield dep
    dispose(dep)


class Worker:
    def __init__(self, dep: Deployment) -> None:
        self.process = subprocess.Popen(
            [*PODIUM, "worker"], env=dep.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert "worker running" in line, line

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def test_killing_the_worker_mid_delivery_loses_nothing(jobs_elsewhere: Deployment) -> None:
    node = Node(jobs_elsewhere)
    receiver = Receiver()
    issued = jobs_elsewhere.create_tenant(f"Worker {uuid.uuid4().hex[:8]}")
    client = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    first = Worker(jobs_elsewhere)
    second = None
    try:
        await client.http.patch("/tenant", json={"webhook_development": True})
        endpoint_id, secret = await add_endpoint(client, receiver.url)
        # The first attempt hangs in the receiver; the worker dies while waiting for the answer.
        receiver.script.append(("hang", 4))
        sent = (await client.http.post(f"/webhooks/endpoints/{endpoint_id}/test")).json()
        await receiver.wait(1)
        first.kill()
        started = time.monotonic()
        second = Worker(jobs_elsewhere)
        found = await settled(client, sent["id"], timeout=20)
        assert found["status"] == "delivered", found
        assert time.monotonic() - started < 15
        await asyncio.sleep(1)
        assert [d.id for d in receiver.deliveries] == [sent["id"], sent["id"]]
        verify(secret, receiver.deliveries[1].headers, receiver.deliveries[1].body)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        await client.close()
        receiver.close()
        node.stop()
