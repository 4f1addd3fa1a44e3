"""API keys, join tokens and the role-permission matrix."""
