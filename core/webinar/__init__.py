"""Webinars: a stage of hosts, moderators and invited attendees; a view-only audience that raises
hands; attendees past the interactive seats watching the room's live stream (docs/web-client.md)."""

from podium.core.webinar.overflow import Overflow
from podium.core.webinar.stage import Stage

__all__ = ["Overflow", "Stage"]
