from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-24T17:42:55:734663"
VERSION = "1.38.0"
DESCRIPTION = "live media mode of auto rooms"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="podium", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Room",
        tablename="room",
        column_name="live_media",
        db_column_name="live_media",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 4,
            "default": "p2p",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
