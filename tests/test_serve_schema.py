"""schemathesis against the OpenAPI document `ztbulk serve` serves (issue 12): generated
requests to every operation, with a customer owner's token, get no 5xx, and every response
matches the document (status, content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err, Ok

from tests.serving import World, served
from ztbulk.registry.seed import OWNER

EXAMPLES = 8  # per operation and mode (29 operations, 2 modes): about a minute
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("schema"), devices=50) as w:
        yield w


MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


def _failures(operation: schemathesis.APIOperation[Any, Any, Any, Any], world: World) -> list[str]:
    """Run the operation's generated cases (valid ones and invalid ones); what failed."""
    failed: list[str] = []
    auth = {"Authorization": f"Bearer {world.tokens[OWNER]}"}
    for mode in MODES:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=world.service.url, headers=auth, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # schemathesis's failure report names the case
            failed.append(f"{operation.label} ({mode.value}): {exc}")
    return failed


# Not schemathesis's pytest plugin: it does not run under this pytest (9). The same engine,
# driven by Hypothesis directly, one operation at a time.
@pytest.mark.slow
def test_generated_requests_get_no_5xx_and_match_the_document(world: World) -> None:
    api = schemathesis.openapi.from_url(f"{world.service.url}/v1/openapi.json")
    results = list(api.get_all_operations())
    assert not [r.err() for r in results if isinstance(r, Err)]  # the document is valid
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) > 20
    failed = [f for operation in operations for f in _failures(operation, world)]
    assert not failed, "\n\n".join(failed)
