"""The plugin template, rendered by ``podium plugin new NAME`` (copier; see copier.yml)."""
