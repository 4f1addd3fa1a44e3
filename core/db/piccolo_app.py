"""Piccolo app registration: the tables and where their migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from podium.core.db.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="podium",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
