"""Breakout rooms: hosts split a room into smaller rooms for a while and bring everyone back."""

from podium.core.breakouts.messages import BreakoutsInfo, BreakoutsOpen

__all__ = ["BreakoutsInfo", "BreakoutsOpen"]
