"""Podium core: the Litestar app, domain, auth, realtime hub and CLI.

``from podium.core import hookimpl`` is all a plugin needs to hook in (see docs/plugins.md).
"""

from pluggy import HookimplMarker

__version__ = "0.1.0"

#: Marks a plugin's implementation of a hook in ``podium.core.hookspecs``.
hookimpl = HookimplMarker("podium")

__all__ = ["__version__", "hookimpl"]
