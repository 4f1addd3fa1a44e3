"""Test support: real Podium server processes and realtime clients."""
