"""Apply piccolo migrations for the ``podium`` app (``podium migrate``)."""

from __future__ import annotations

import contextlib
import io
import os

from podium.core.db.engine import PICCOLO_CONF, close

__all__ = ["migrate"]


async def migrate() -> int:
    """Apply pending migrations; returns how many ran. Raises ``RuntimeError`` on failure."""
    os.environ.setdefault("PICCOLO_CONF", PICCOLO_CONF)
    from piccolo.apps.migrations.commands.check import CheckMigrationManager
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.engine.finder import engine_finder

    try:
        pending = [
            row
            for row in await CheckMigrationManager(app_name="podium").get_migration_statuses()
            if not row.has_ran
        ]
        if not pending:
            return 0
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):  # piccolo prints emoji progress lines
            result = await run_forwards(app_name="podium")
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}\n{chatter.getvalue()}")
        return len(pending)
    finally:
        # Piccolo migrates through PICCOLO_CONF's engine, not the one bound to Podium's tables.
        await close(engine_finder())
