"""schemathesis against the console's OpenAPI schema, in process (ASGI): generated requests to
every operation, valid and invalid ones, as an administrator and as a viewer (API tokens), over
a store holding the demo plant. No request may cause a 500, and every answer must conform to
the schema (status code documented, body of the documented shape: the JSON error shape
included).

Cases per operation and mode are few (``EXAMPLES``) to keep the run to a few tens of
seconds. The operations that end the caller's own credentials (sign-out, token revocation,
password, second-factor and user changes) are left out so the rest keeps its token; the
authorisation matrix and the auth tests cover them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from console.apikit import demo_kit, load_demo
from console.consolekit import API, ConsoleKit
from otshield.console.permissions import Role

EXAMPLES = {Role.ADMIN: 3, Role.VIEWER: 2}
"""Generated cases per operation and mode (the viewer's writes end at the 403 early, so fewer
cases say as much)."""
_CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
_SELF_HARM = re.compile(r"^/api/v1/(auth/(logout|password|mfa/.*)|tokens/.+|users.*)$")
"""Operations that would revoke the fuzzing token or lock its user out."""


@pytest.fixture(scope="module")
def fuzz_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleKit]:
    with demo_kit(tmp_path_factory.mktemp("fuzz")) as kit:
        load_demo(kit)
        yield kit


def _operations(kit: ConsoleKit) -> list[Any]:
    schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", kit.app)
    out = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the schema itself is invalid: that is the failure
        operation = result.ok()
        if not _SELF_HARM.match(operation.path):
            out.append(operation)
    return out


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str],
          examples: int) -> str | None:
    """Run the generated cases of one operation; the first failure as text, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=_CHECKS)

    try:
        run()
    except Unsatisfiable:
        return None  # nothing invalid to send (an operation without parameters)
    except Exception as exc:  # a check failed: report it with the operation
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:2000]
    return None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_no_500_and_schema_conformance(fuzz_kit: ConsoleKit, role: Role) -> None:
    headers = {"Authorization": f"Bearer {fuzz_kit.token(role)}"}
    operations = _operations(fuzz_kit)
    assert len(operations) >= 30
    failures = [f for op in operations for mode in GenerationMode
                if (f := _fuzz(op, mode, headers, EXAMPLES[role])) is not None]
    assert failures == [], "\n\n".join(failures)
