"""The committed migrations describe exactly the tables in code."""

from __future__ import annotations

from pathlib import Path

import pytest


async def test_tables_and_migrations_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PICCOLO_CONF", "podium.core.db.piccolo_conf")
    from piccolo.apps.migrations.commands.new import AutoMigrationManager

    from podium.core.db.piccolo_app import APP_CONFIG

    statements = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config=APP_CONFIG)
    pending = [line for group in statements for line in group.statements]
    assert not pending, "tables changed without a migration: run `piccolo migrations new podium --auto`"
