"""An embedder's page on an origin of its own (``http://localhost:<port>``), for iframe tests."""

from __future__ import annotations

import functools
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: The embedder's page: loads podium-embed.js from Podium and embeds the room its query names.
HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Embedder</title></head>
<body>
  <h1>Acme intranet</h1>
  <div id="room" style="width: 960px; height: 600px"></div>
  <iframe id="sibling" src="about:blank" style="width: 10px; height: 10px"></iframe>
  <script>
    const q = new URLSearchParams(location.search);
    window.events = [];
    const sdk = document.createElement("script");
    sdk.src = q.get("podium") + "/podium-embed.js";
    sdk.onload = () => {
      window.room = new PodiumEmbed(document.getElementById("room"), {
        url: q.get("url"),
        token: q.get("token"),
        prejoin: false,
        startVideoMuted: true,
        layout: q.get("layout") || undefined,
        chat: q.get("chat") !== "0",
      });
      window.room.on("*", (e) => window.events.push(JSON.parse(JSON.stringify(e))));
    };
    document.head.append(sdk);
  </script>
</body></html>
"""


class HostPage:
    """A static site on ``http://localhost:<free port>`` serving ``host.html``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="podium-host-"))
        (self.folder / "host.html").write_text(HOST_PAGE)
        handler = functools.partial(_Quiet, directory=str(self.folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, **query: str) -> str:
        from urllib.parse import urlencode

        return f"{self.origin}/host.html?{urlencode(query)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass
