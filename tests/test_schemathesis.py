"""Property-based API testing with schemathesis against our own OpenAPI schema,
for every role: no 5xx, every answer's status, content type and body documented,
authentication enforced where declared, undeclared methods refused with 405.

A short run; `make schemathesis` runs the same checks at 50 examples per operation
against a live server."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from floniks.wsgi import application
from tests.helpers import finished_record, small_definition

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calling the WSGI app directly would close the test's connection after each request;
    Django's own test client disconnects this handler the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(make_workflow, publish, operator):
    workflow = make_workflow("campaign-a", "Campaign A")
    publish(workflow, small_definition(), visibility="public", actor=None)
    finished_record(operator, workflow)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "outsider", "operator", "manager", "admin"])
@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_for_every_role(case, role, personas, world):
    user = personas[role]
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"} if user else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
