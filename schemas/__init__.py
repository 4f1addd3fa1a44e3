"""JSON Schemas of Podium's wire protocol, generated from the msgspec Structs that own the shapes."""

from pathlib import Path

WIRE_DIR = Path(__file__).parent / "wire"

__all__ = ["WIRE_DIR"]
