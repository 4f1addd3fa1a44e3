"""Realtime hub: WebSocket protocol, presence, chat and moderation fan-out."""
