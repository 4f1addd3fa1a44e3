"""Reading a web node's Prometheus ``/metrics`` as an operator's scraper does."""

from __future__ import annotations

import asyncio
import re
import time

import httpx

__all__ = ["metric", "wait_metric"]


async def metric(base_url: str, name: str, **labels: str) -> float | None:
    """The value of the first sample of ``name`` whose labels include ``labels`` (any, if none are
    given), or None if there is none."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{base_url}/metrics")).text
    for found in re.finditer(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            return float(found.group(2))
    return None


async def wait_metric(base_url: str, name: str, at_least: float, within: float = 15) -> float:
    """Wait until ``name`` reaches ``at_least``; its value then."""
    deadline = time.monotonic() + within
    while True:
        value = await metric(base_url, name)
        if value is not None and value >= at_least:
            return value
        assert time.monotonic() < deadline, f"{name} is {value}, not yet {at_least}"
        await asyncio.sleep(0.5)
