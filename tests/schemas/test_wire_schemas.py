"""The committed wire schemas match the protocol Structs, and real traffic validates against them."""

from __future__ import annotations

import json

import jsonschema

from podium.schemas import WIRE_DIR
from podium.schemas.generate import normalise, render
from tests.support.client import TenantClient


def test_committed_schemas_are_fresh() -> None:
    expected = render()
    committed = {path.relative_to(WIRE_DIR): path.read_text() for path in WIRE_DIR.glob("*/*.json")}
    stale = sorted(str(p) for p in set(expected) | set(committed) if expected.get(p) != committed.get(p))
    assert not stale, f"stale schemas (run `python -m podium.schemas.generate`): {stale}"


def test_schema_text_is_the_same_under_every_msgspec_version() -> None:
    # msgspec < 0.22 keeps a docstring's indentation and lists a union's members the other way.
    older = {"description": "Offer.\n\n    The rest.", "anyOf": [{"$ref": "#/$defs/Ice"}, {"type": "null"}]}
    newer = {"description": "Offer.\n\nThe rest.", "anyOf": [{"type": "null"}, {"$ref": "#/$defs/Ice"}]}
    assert normalise({"properties": {"a": older}}) == normalise({"properties": {"a": newer}})
    assert normalise(older)["description"] == "Offer.\n\nThe rest."


def _validator(direction: str, kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((WIRE_DIR / direction / f"{kind}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


async def test_real_server_messages_validate(acme: TenantClient) -> None:
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    await ann.request({"type": "chat.send", "text": "hi"})
    await ann.send({"type": "nope"})
    seen = [host.first, ann.first, await host.next("participant.joined"), await host.next("chat.message")]
    seen.append(await ann.next("error"))
    for message in seen:
        assert message is not None
        _validator("server", message["type"]).validate(message)


def test_client_schema_rejects_what_the_server_rejects() -> None:
    validator = _validator("client", "chat.send")
    validator.validate({"type": "chat.send", "text": "hi", "to": "moderators"})
    assert not validator.is_valid({"type": "chat.send", "text": 5})
    assert not validator.is_valid({"type": "chat.send", "text": "hi", "extra": 1})
