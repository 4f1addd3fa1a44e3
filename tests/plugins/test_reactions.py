"""Reactions reach everyone, and are rate-limited per person."""

from __future__ import annotations

from plugins.reactions import allow
from tests.plugins.conftest import TenantFactory, command


async def test_reactions_reach_everyone_until_the_rate_limit(new_tenant: TenantFactory) -> None:
    acme = await new_tenant(reactions={"burst": 3, "per_second": 0.01})
    room = (await acme.room())["slug"]
    host = await acme.join(room, "hana", "host")
    ann = await acme.join(room, "ann")
    for _ in range(3):
        assert (await command(ann, "reactions", "send", {"emoji": "👏"}))["type"] == "ack"
    seen = await host.next("plugin.event", plugin="reactions", event="reaction")
    assert seen["data"] == {"emoji": "👏", "participant_id": ann.id, "name": "Ann"}
    limited = await command(ann, "reactions", "send", {"emoji": "👏"})
    assert limited["type"] == "error" and limited["code"] == "rate_limited"
    assert (await command(host, "reactions", "send", {"emoji": "🎉"}))["type"] == "ack"  # per person
    assert (await command(ann, "reactions", "send", {"emoji": "💩"}))["code"] == "invalid_message"


def test_the_bucket_refills() -> None:
    assert [allow("p", 2, 1.0, now=t) for t in (0, 0, 0, 0.5, 1.0, 1.1)] == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]
