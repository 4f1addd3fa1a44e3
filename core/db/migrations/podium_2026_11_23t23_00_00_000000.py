from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes piccolo cannot declare: room slug unique per tenant, chat and presence lookups"


class Room(Table, tablename="room"):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="podium", description=DESCRIPTION)

    async def create_indexes() -> None:
        await Room.raw("CREATE UNIQUE INDEX room_tenant_slug ON room (tenant, slug)")
        await Room.raw("CREATE INDEX chat_message_room_id ON chat_message (room, id)")
        await Room.raw("CREATE INDEX participant_session_room_status ON participant_session (room, status)")

    async def drop_indexes() -> None:
        for name in ("room_tenant_slug", "chat_message_room_id", "participant_session_room_status"):
            await Room.raw(f"DROP INDEX {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
