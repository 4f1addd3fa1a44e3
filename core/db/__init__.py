"""Persistence: piccolo tables, engine selection and migrations."""
