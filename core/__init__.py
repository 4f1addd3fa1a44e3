"""Podium core: the Litestar app, domain, auth, realtime hub and CLI."""

__version__ = "0.1.0"
