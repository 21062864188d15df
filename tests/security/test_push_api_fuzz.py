"""Fuzz the push API against its own OpenAPI schema with schemathesis (issue 14): bounded examples,
in process against the live test app (no network). Every response must be documented, match its
schema and never be a server error; whatever the request, nothing is half-applied.
"""
from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from receiving.api import openapi_schema
from receiving.models import ImportBatch, PurchaseLine
from receiving.services import api_token_create

pytestmark = pytest.mark.django_db

SCHEMA = schemathesis.openapi.from_dict(openapi_schema())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def api(org):
    """The real WSGI app in process; like Django's test client, the request signals must not close
    the test's database connection (it holds the test transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    SCHEMA.app = get_wsgi_application()
    with scope(tenant=org):
        _token, raw = api_token_create(tenant=org, actor="test", name="fuzz")
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {raw}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _check(case, headers, org):
    case.path_parameters = {**(case.path_parameters or {}), "tenant": org.slug}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    # A line is only ever stored inside a batch: a refused request leaves neither behind.
    with scope(tenant=org):
        assert not PurchaseLine.objects.filter(batch__isnull=True).exists()
        if response.status_code >= 400:
            assert ImportBatch.objects.filter(lines__isnull=True).count() == 0
    return response


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_pushing_generated_lines_never_fails_on_the_server(api, org, mode):
    operation = SCHEMA["/api/t/{tenant}/receiving/lines/"]["POST"]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @FUZZ
    @given(case=strategy)
    def run(case):
        _check(case, api, org)

    run()


def test_reading_generated_line_ids_never_fails_on_the_server(api, org):
    operation = SCHEMA["/api/t/{tenant}/receiving/lines/{id}/"]["GET"]

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        _check(case, api, org)

    run()
