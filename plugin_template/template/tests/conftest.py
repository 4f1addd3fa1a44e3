"""Podium's fixtures for plugin authors: ``podium_server`` and ``podium_room``."""

pytest_plugins = ["podium.core.testing"]
