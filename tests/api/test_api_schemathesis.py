"""Schemathesis against the app in-process, over the real mirror: every phase (examples, coverage,
fuzzing, stateful) and every check. Required: 0 server errors and 0 schema-conformance failures.

``positive_data_acceptance`` is left out on purpose: it expects every schema-valid value to be
accepted, but a cursor is schema-valid text that only the API itself can issue (a made-up one is
a 422 by design). ``negative_data_rejection`` also accepts 414, the documented answer to an
over-long query string. Routes of other modules (/v1/proofs, the dashboard) are not in scope.
GOVLEDGER_SCHEMATHESIS_EXAMPLES sets the examples per operation.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

pytestmark = pytest.mark.xdist_group("api")

CONFORMANCE = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
}


def test_schemathesis_all_phases(app: Any) -> None:
    examples = int(os.environ.get("GOVLEDGER_SCHEMATHESIS_EXAMPLES", "25"))
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": examples},
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429]
                },
            },
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    # The proofs routes (another module, with their own tests) need a chain node, not just the mirror.
    schema = schema.exclude(path_regex=r"^/v1/proofs")
    started = time.monotonic()
    requests: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    checks_run: Counter[str] = Counter()
    failures: list[str] = []
    errors: list[str] = []
    finished = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            requests[str(event.phase)] += len(event.recorder.interactions)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[interaction.response.status_code] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    checks_run[check.name] += 1
                    if check.status.name != "SUCCESS":
                        case = event.recorder.cases[case_id].value
                        detail = str(check.failure_info.failure)[:300] if check.failure_info else ""
                        failures.append(f"{check.name} {case.method} {case.path} {case.query}: {detail}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(getattr(event, "value", None) or getattr(event, "exception", event))[:300])
        elif isinstance(event, events.EngineFinished):
            finished = event
    elapsed = time.monotonic() - started
    total = sum(requests.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(
        f"schemathesis: {total} requests ({dict(requests)}), statuses {dict(sorted(statuses.items()))},"
        f" checks {sum(checks_run.values())}, failures {len(failures)}, server errors {server_errors},"
        f" {elapsed:.0f}s"
    )
    assert finished is not None and str(finished.stop_reason) == "completed"
    assert errors == []
    assert set(requests) == {"examples", "coverage", "fuzzing", "stateful"}, requests
    assert all(requests[phase] > 0 for phase in requests), requests
    assert set(checks_run) >= CONFORMANCE, checks_run
    assert failures == [], "\n".join(sorted(set(failures))[:20])
    assert server_errors == 0
