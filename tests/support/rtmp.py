"""A real RTMP server for the live-streaming tests: nginx with Debian's ``libnginx-mod-rtmp``.

Each ``RtmpServer`` is its own nginx in the foreground (a child of the test), with its own
prefix directory, config and loopback port; it accepts publishing and playing from 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.server import free_port

__all__ = ["RtmpServer"]

NGINX = Path("/usr/sbin/nginx")
MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")

_CONFIG = """
load_module {module};
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application live {{
            live on;
            record off;
            allow publish 127.0.0.1;
            deny publish all;
            allow play 127.0.0.1;
        }}
    }}
}}
"""


class RtmpServer:
    """``rtmp://127.0.0.1:<port>/live/<key>``: publish there, play it back from the same URL."""

    def __init__(self) -> None:
        if not (NGINX.exists() and MODULE.exists()):
            raise RuntimeError(
                "nginx with the RTMP module is missing: run `make test` (scripts/test-services.sh)"
            )
        self.prefix = Path(tempfile.mkdtemp(prefix="podium-rtmp-"))
        self.port = free_port()
        config = self.prefix / "nginx.conf"
        config.write_text(_CONFIG.format(module=MODULE, prefix=self.prefix, port=self.port))
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(self.prefix), "-c", str(config), "-e", str(self.prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening()

    def url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def _wait_listening(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)
