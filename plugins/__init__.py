"""Podium's built-in plugins, one subpackage each, registered like third-party plugins."""
