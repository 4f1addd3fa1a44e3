"""Piccolo configuration module (``PICCOLO_CONF``), engine chosen by ``PODIUM_*`` settings."""

from piccolo.conf.apps import AppRegistry

from podium.core.db.engine import engine_for
from podium.core.settings import Settings

DB = engine_for(Settings.from_env())
APP_REGISTRY = AppRegistry(apps=["podium.core.db.piccolo_app"])
