"""schemathesis against a live ``podium serve``: every operation of ``/schema/openapi.json``.

schemathesis reads only the served document and generates requests from it: the documented
examples, boundary and negative values (coverage), random ones (fuzzing) and chains of calls
that feed one answer's ids into the next request (stateful, links it infers from the schema).
Every answer must be no 5xx, a documented status code, the documented content type and a body
the schema describes.

The fuzzer gets a node and tenant of its own: a media-less node (recording and streaming
answer 503 ``media_unavailable`` rather than start pipelines for the rooms it creates) on
its own Redis prefix (its rate-limit counters touch nobody else's). ``before_call`` below
keeps it from revoking its own key and points every webhook URL it makes up at a closed
loopback port, so nothing it sends leaves the machine or waits on DNS.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import schemathesis
from schemathesis.core.result import Ok
from schemathesis.engine import Status, events, from_schema

from tests.hardening.conftest import Tally, examples
from tests.support.server import Deployment, Node

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
#: Where every webhook URL the fuzzer invents is sent instead: loopback, a port nobody serves.
NOWHERE = "127.0.0.1:9"


@dataclass
class Fuzzing:
    """The fuzzer's own node and tenant, and what it needs to reach the slides upload."""

    node: Node
    keys: dict[str, Any]
    room: str
    host_token: str
    endpoint: str


@pytest.fixture(scope="module")
def fuzzing(deployment: Deployment) -> Iterator[Fuzzing]:
    node = Node(deployment, PODIUM_MEDIA_URL="off", PODIUM_REDIS_PREFIX=f"{deployment.prefix}fuzz")
    keys = deployment.create_tenant(f"Fuzz {uuid.uuid4().hex[:6]}")
    api = httpx.Client(
        base_url=f"{node.url}/api/v1", headers={"Authorization": f"Bearer {keys['secret']}"}, timeout=10
    )
    with api:
        assert api.post("/rooms", json={"slug": "stage", "name": "Stage"}).status_code == 201
        token = api.post("/rooms/stage/tokens", json={"identity": "fuzz-host", "role": "host"})
        assert api.put("/plugins/slides", json={"enabled": True}).status_code == 200
        assert api.patch("/tenant", json={"webhook_development": True}).status_code == 200
        endpoint = api.post("/webhooks/endpoints", json={"url": f"http://{NOWHERE}/hooks"})
        assert api.post(f"/webhooks/endpoints/{endpoint.json()['endpoint']['id']}/test").status_code == 202
    yield Fuzzing(node, keys, "stage", token.json()["token"], endpoint.json()["endpoint"]["id"])
    node.stop()


def _config(fuzz: Fuzzing, seed: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "headers": {"Authorization": f"Bearer {fuzz.keys['secret']}"},
            "request-timeout": 10,
            "generation": {"max-examples": examples(8), "database": "none", "no-shrink": True},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": examples(10)},
            },
            "operations": [
                # This node has no media node: starting a recording or a stream is 503 by design.
                {
                    "include-path-regex": "/rooms/[^/]+/(recordings|streams)$",
                    "include-method": "POST",
                    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}},
                },
                # Reads of the fixture's room and endpoint get past the lookup to their own parameters.
                {
                    "include-path-regex": "^/api/v1/(rooms/[{]slug[}]|webhooks/endpoints/[{]endpoint_id[}])",
                    "include-method": "GET",
                    "parameters": {"slug": fuzz.room, "endpoint_id": fuzz.endpoint},
                },
                # The slides upload authenticates with a presenter's join token for its room.
                {
                    "include-path-regex": "/decks$",
                    "headers": {"Authorization": f"Bearer {fuzz.host_token}"},
                    "parameters": {"tenant": fuzz.keys["tenant"], "room": fuzz.room},
                },
            ],
        }
    )


def _contained(fuzz: Fuzzing) -> Any:
    """A ``before_call`` hook: the fuzzer's key, room and endpoint survive it; its URLs go nowhere."""
    protected = {"key_id": fuzz.keys["key_id"], "slug": fuzz.room, "endpoint_id": fuzz.endpoint}

    def before_call(
        context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
    ) -> None:
        if case.method == "DELETE" and case.path_parameters:
            for name, value in protected.items():
                if case.path_parameters.get(name) == value:
                    case.path_parameters[name] = f"{value}-gone"
        if isinstance(case.body, dict):
            for name in ("url", "destination"):
                value = case.body.get(name)
                if isinstance(value, str):
                    case.body[name] = _nowhere(value)

    return before_call


def _nowhere(url: str) -> str:
    """``url`` with its host and port replaced by NOWHERE (unchanged if it has none)."""
    try:
        parts = urlsplit(url)
        if not parts.hostname:
            return url
    except ValueError:
        return url  # the server refuses it as malformed, before any lookup
    return urlunsplit(parts._replace(netloc=NOWHERE))


@dataclass
class Outcome:
    """What one schemathesis run did: operations called, cases sent, and what failed."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failed_cases: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


def _run(schema: Any) -> Outcome:
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            outcome.cases += len(recorder.cases)
            outcome.operations |= {node.value.operation.label for node in recorder.cases.values()}
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        outcome.failed_cases.add(case_id)
                        info = check.failure_info
                        response = recorder.interactions[case_id].response
                        answer = (
                            f"[{response.status_code}] {response.text[:300]}" if response else "no answer"
                        )
                        outcome.failures.append(
                            f"{info.failure.operation}: {info.failure.title}\n{info.failure.message}\n"
                            f"{answer}\n{info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            outcome.failures.append(f"{event.label}: {event.info.title}\n{event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            outcome.failures += [f"{f.operation}: {f.title}\n{f.message}" for f in event.failures]
    return outcome


def test_every_operation_answers_as_documented(fuzzing: Fuzzing, tally: Tally) -> None:
    seed = random.randrange(2**32)
    schema = schemathesis.openapi.from_url(
        f"{fuzzing.node.url}/schema/openapi.json", config=_config(fuzzing, seed)
    )
    documented = {op.ok().label for op in schema.get_all_operations() if isinstance(op, Ok)}
    hook = schemathesis.hook("before_call")(_contained(fuzzing))
    try:
        outcome = _run(schema)
    finally:
        schemathesis.hooks.unregister(hook)

    tally.tried(outcome.cases)
    tally.held(outcome.cases - len(outcome.failed_cases))
    print(f"schemathesis: {len(outcome.operations)} operations, {outcome.cases} cases (seed {seed})")
    assert not outcome.failures, f"seed {seed}:\n\n" + "\n\n".join(outcome.failures[:10])
    assert outcome.operations == documented, documented - outcome.operations


def test_cursors_beyond_any_id_are_refused_not_a_server_error(fuzzing: Fuzzing, tally: Tally) -> None:
    """``before=`` larger than an id column holds (32-bit on PostgreSQL, 64-bit in SQLite) was a
    database error, 500; the schema now says where ids end, and the server answers 400."""
    api = httpx.Client(
        base_url=f"{fuzzing.node.url}/api/v1",
        headers={"Authorization": f"Bearer {fuzzing.keys['secret']}"},
        timeout=10,
    )
    with api:
        for path in (f"/rooms/{fuzzing.room}/chat", f"/webhooks/endpoints/{fuzzing.endpoint}/messages"):
            for before in (2**31 - 1, 2**31, 2**63, 10**20):
                tally.tried()
                response = api.get(path, params={"before": before})
                expected = 200 if before < 2**31 else 400
                assert response.status_code == expected, (path, before, response.text)
                tally.held()
