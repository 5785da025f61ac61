"""Property-based requests generated from the OpenAPI document against the main routes, authenticated
with real tokens: whatever is sent, the answer is never a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ..engine.office import id_number, registration

MAIN_ROUTES = (
    "^/api/v1/("
    + "|".join(
        [
            "auth/",
            "me$",
            "tasks",
            "cases",
            "persons",
            "forms",
            "authorizations",
            "definitions$",
            r"definitions/\{key\}/versions$",
        ]
    )
    + ")"
)


@pytest.fixture
def core_schema(api):
    """The app's own OpenAPI document, limited to the API core, with a case in the inbox to work on."""
    person = id_number(seq="321")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app).include(path_regex=MAIN_ROUTES)


schema = schemathesis.pytest.from_fixture("core_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_main_routes_never_answer_with_a_server_error(case, api):
    # The city grants authorizations; the township platform works everything else.
    user = "city1" if case.path.startswith("/api/v1/authorizations") else "platform1"
    case.call_and_validate(headers=api.as_(user), checks=[not_a_server_error])
