"""Schemathesis against the app's own OpenAPI (issue 11, item 8): at least 500 generated requests to each
JSON API operation (valid and schema-violating bodies, with and without a valid token), and not one
answer is a 5xx.

Schemathesis and Hypothesis are pinned in pyproject.toml (dev extras). The cases are drawn with
Hypothesis from Schemathesis' strategies inside a plain test (its pytest plugin does not work with
pytest 9). Runs on SQLite; the hostile values that failed only on PostgreSQL are covered by
tests/test_hostile_input.py on both back ends.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from webutil import factory_for, seed_basic, settings_for, sqlite_url

from netral.db.schema import Flag, Review, User
from netral.pipeline.roster import import_roster
from netral.review import reports
from netral.review import users as user_service
from netral.serve.app import create_app
from netral.vocabulary import FlagStatus

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CASES = 500


def test_api_never_answers_5xx(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    with factory() as s:
        import_roster(s, SAMPLES / "roster.csv")
        analyst = user_service.create_user(s, username="fuzzer", role="analyst", password="pengirim-data-resmi-7")
        reviewer = user_service.create_user(s, username="peninjau", role="reviewer", password="penerima-aduan-warga-7")
        # Each operation is fuzzed with a token whose role may use it (posts: analysts; complaints: reviewers).
        tokens = {"/api/posts": user_service.create_api_token(s, analyst, "fuzz", actor=None)[1],
                  "/api/complaints": user_service.create_api_token(s, reviewer, "fuzz", actor=None)[1]}
        s.commit()
    # The case operations are fuzzed with a supervisor's token against one issued report's case, so that
    # reading and recording steps are reached, not only the refusal of an analyst.
    ids = seed_basic(factory)
    with factory() as s:
        _report(s, ids)
        supervisor = s.get(User, ids["sari"])
        assert supervisor is not None
        _, case_token = user_service.create_api_token(s, supervisor, "fuzz-kasus", actor=None)
        s.commit()
    app = create_app(settings_for(url, tmp_path, max_body_bytes=256 * 1024))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/posts", "/api/complaints", "/api/cases", "/api/cases/{case_id}",
                                              "/api/cases/{case_id}/steps"}
    for operation in operations:
        token_for = case_token if operation.path.startswith("/api/cases") else tokens[operation.path]
        seen = _fuzz(operation, token_for)
        assert sum(seen.values()) >= CASES, (operation.path, seen)
        assert seen[401] > 0 and seen[422] > 0, (operation.path, seen)  # all paths exercised
        if operation.path == "/api/complaints":
            # A generated complaint names no roster account, so the service refuses it (400) unless it
            # happens to be valid (201): either shows the request reached the service.
            assert seen[201] > 0 or seen[400] > 0, (operation.path, seen)
            continue
        # A generated step is accepted only for the one existing case and when the state allows it, which
        # random input does not reach; recording steps is covered by tests/test_cases.py.
        assert seen[200] > 0 or operation.path == "/api/cases/{case_id}/steps", (operation.path, seen)
    factory.kw["bind"].dispose()


def _report(s: Any, ids: dict[str, int]) -> None:
    """The seeded flag confirmed, verified by someone else and reported (which opens case #1)."""
    flag = s.get(Flag, ids["flag"])
    flag.status = FlagStatus.VERIFIED
    for who, stage, decision in (("rina", "first", "confirm"), ("tono", "second", "verify")):
        s.add(Review(flag_id=ids["flag"], reviewer_id=ids[who], stage=stage, decision=decision,
                     category="SUPPORT" if stage == "first" else None, reason="alasan yang cukup panjang"))
    s.flush()
    reports.create_report(s, ids["flag"], s.get(User, ids["sari"]))


def _fuzz(operation: Any, token: str) -> Counter[int]:
    """CASES generated requests to one operation; the status codes seen."""
    seen: Counter[int] = Counter()
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases, authenticated=st.integers(0, 3))
    @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case, authenticated: int) -> None:
        headers = {"Authorization": f"Bearer {token}"} if authenticated else {}  # 1 in 4 without a token
        response = case.call(headers=headers)
        seen[response.status_code] += 1
        assert response.status_code < 500, (operation.path, response.status_code, response.text[:500],
                                            repr(case.body)[:500])

    run()
    return seen
