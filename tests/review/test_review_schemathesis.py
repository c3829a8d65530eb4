"""schemathesis against the OpenAPI schema the app serves (/api/schema/): no 5xx, ever, and
every documented response conforms (Patchwork's own shapes for the 1.2 operations).
On a queue of its own (its writes touch nobody else): 200 examples per operation in the
PostgreSQL job (deploy/test-review-pg.sh), a few on SQLite so the everyday suite stays fast;
COCCI_REVIEW_FUZZ_EXAMPLES overrides both."""

from __future__ import annotations

import os

import pytest
import schemathesis
from conftest import start_queue
from hypothesis import HealthCheck, settings
from review_fixtures import add_build_boot, make_outdir
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgres")
MAX_EXAMPLES = int(os.environ.get("COCCI_REVIEW_FUZZ_EXAMPLES") or (200 if ON_POSTGRES else 10))


@pytest.fixture(scope="module")
def fuzz_queue(tmp_path_factory):
    with start_queue(tmp_path_factory.mktemp("fuzzq")) as q:
        out = make_outdir(tmp_path_factory.mktemp("fuzzdata"))
        add_build_boot(out)
        q.cli("post", "--queue", q.url, "--token", q.bot_token, str(out))
        yield q


@pytest.fixture(scope="module")
def api_schema(fuzz_queue):
    return schemathesis.from_uri(f"{fuzz_queue.url}/api/schema/", base_url=fuzz_queue.url)


schemathesis.experimental.OPEN_API_3_1.enable()
schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, fuzz_queue):
    token = fuzz_queue.maintainer_token if case.method != "GET" else None
    headers = {"Authorization": f"Token {token}"} if token else {}
    response = case.call(headers=headers, timeout=30)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
