"""A real ``podium serve`` process on a free port, with the CLI bound to the same settings."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PODIUM = [sys.executable, "-m", "podium.core.cli"]
#: The shared secret test nodes give their (imaginary) TURN server.
TURN_SECRET = "test-turn-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    """Settings shared by the nodes of one Podium deployment (one database, one channel namespace)."""

    database_url: str = ""
    redis_url: str = ""
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="podium-test-")))
    prefix: str = field(default_factory=lambda: f"t{os.getpid()}{time.monotonic_ns() % 10**8}")
    extra: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(
            PODIUM_DATA_DIR=str(self.data_dir),
            PODIUM_DATABASE_URL=self.database_url,
            PODIUM_REDIS_URL=self.redis_url,
            PODIUM_REDIS_PREFIX=self.prefix,
            PODIUM_SECRET_KEY="test-master-key-" + self.prefix,
            PODIUM_PRESENCE_REFRESH="1",
            PODIUM_PRESENCE_TIMEOUT="6",
            PODIUM_LOG_LEVEL="warning",
            # A slow refill keeps the burst-then-refuse behaviour exact on a loaded machine.
            PODIUM_CHAT_RATE_PER_SECOND="0.2",
            PODIUM_ICE_SERVERS='[{"urls": ["stun:127.0.0.1:3478"]}]',
            PODIUM_TURN_URLS="turn:127.0.0.1:3478?transport=udp",
            PODIUM_TURN_SECRET=TURN_SECRET,
            # The live-streaming tests push RTMP to an nginx on loopback.
            PODIUM_STREAMING_PRIVATE_ADDRESSES="true",
            # Webhook tests deliver to receivers on loopback (the tenant's development flag).
            PODIUM_WEBHOOK_PRIVATE_ADDRESSES="true",
            # Every test client calls from 127.0.0.1, and many tests present bad tokens on purpose:
            # the shared nodes keep the limit on but high; tests/hardening checks the real one.
            PODIUM_AUTH_FAILURES_PER_MINUTE="1000",
        )
        env.update(self.extra)
        env.update(overrides)
        return env

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*PODIUM, *args], env=self.env(), capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"podium {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def create_tenant(self, name: str) -> dict[str, Any]:
        return dict(json.loads(self.cli("tenant", "create", name, "--json")))


class Node:
    """One ``podium serve`` process."""

    def __init__(self, deployment: Deployment, **env: str) -> None:
        self.deployment = deployment
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="podium-node-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [*PODIUM, "serve", "--port", str(self.port)],
            env=deployment.env(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podium serve exited:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"podium serve did not become ready:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
