"""A short run of the load benchmark on PostgreSQL (the 60-second run is ``make bench-load``): several
reviewers at once over HTTP never decide a flag twice, never get a 5xx, and the audit chain verifies.
Latency is printed by the benchmark, never asserted here."""

from __future__ import annotations

import os

import pytest

from netral.serve.loadbench import run

pytestmark = pytest.mark.postgres


def test_concurrent_reviewers_keep_the_invariants() -> None:
    url = os.environ.get("NETRAL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NETRAL_TEST_POSTGRES_URL not set")
    result = run(url, reviewers=6, seconds=6, flags=60, quiet=True)
    assert result["requests"] > 50 and result["decided_flags"] > 0
    assert result["double_decisions"] == 0
    assert result["chain_problems"] == 0
    assert result["server_errors"] == 0
    assert result["reviews"] >= result["decided_flags"]
