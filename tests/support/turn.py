"""A real TURN server (Debian's coturn) for the network-impairment tests and bench.

Clients forced to relay everything (``iceTransportPolicy: "relay"``) send all their
media through TURN, so an impairing relay in front of it (``tests.support.network``)
sits on every packet a participant sends or receives, whoever the other end is:
the media node, or another browser. The server uses the TURN REST API
(``use-auth-secret``), as Podium's own ``PODIUM_TURN_SECRET`` does, and credentials
are minted with Podium's ``turn_credentials``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium.core.realtime.ice import turn_credentials
from tests.support.network import NETWORK_NICENESS

__all__ = ["TurnServer", "turn_server"]

_REALM = "podium.test"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TurnServer:
    """One ``turnserver`` process on 127.0.0.1, relaying on loopback to peers on this machine."""

    def __init__(self, port: int, secret: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port = port
        self.secret = secret
        self.process = process
        self.log = log

    def ice_server(self, identity: str, port: int | None = None) -> dict[str, Any]:
        """An ``RTCIceServer`` for ``identity``; ``port``: reach the server through that port
        instead (an impairing relay in front of it)."""
        username, credential = turn_credentials(self.secret, identity, 3600)
        url = f"turn:127.0.0.1:{port or self.port}?transport=udp"
        return {"urls": [url], "username": username, "credential": credential}

    def allocations(self) -> int:
        """Allocations made so far (from the server's log): proof that media went through TURN."""
        return self.log.read_text(errors="replace").count("ALLOCATE processed, success")


@contextlib.contextmanager
def turn_server() -> Iterator[TurnServer]:
    """Start coturn on a free port (``make test`` installs it); stop it afterwards."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("coturn's turnserver is not installed; run `make test` (it installs it)")
    port = _free_udp_port()
    secret = "podium-test-turn-secret"
    with tempfile.TemporaryDirectory(prefix="podium-turn-") as tmp:
        log = Path(tmp) / "turn.log"
        log.touch()
        # Relay ports from a range of their own, away from the ephemeral ports tests bind.
        low = 20000 + (port % 400) * 100
        # ``nice`` runs it at the network's priority, or as is where that is not allowed.
        command = [
            "nice",
            "-n",
            str(NETWORK_NICENESS),
            binary,
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            f"--min-port={low}",
            f"--max-port={low + 99}",
            "--allow-loopback-peers",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            f"--realm={_REALM}",
            "--fingerprint",
            "--no-software-attribute",
            "--simple-log",
            f"--log-file={log}",
            f"--pidfile={tmp}/turn.pid",
            "--verbose",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while "listener opened on" not in log.read_text(errors="replace").lower():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"turnserver did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.05)
            yield TurnServer(port, secret, process, log)
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
