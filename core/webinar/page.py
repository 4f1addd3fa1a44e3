"""What the room page needs to know before it joins: whether the room is a webinar.

The pre-join screen of a webinar's attendee opens no camera or microphone (they join off
stage, view-only): the page learns it from a ``<meta name="podium-webinar">`` the server puts
in, and the role from the join token it already reads."""

from __future__ import annotations

from podium.core.db.tables import Room

__all__ = ["WEBINAR_META", "is_webinar"]

WEBINAR_META = b'<meta name="podium-webinar" content="1">'


async def is_webinar(tenant: str, slug: str) -> bool:
    """Whether ``tenant``'s room ``slug`` is a webinar (an unknown room is not)."""
    row = await Room.select(Room.webinar).where((Room.tenant._.slug == tenant) & (Room.slug == slug)).first()
    return bool(row and row["webinar"])
