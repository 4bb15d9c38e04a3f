"""What a rule model may not say: SQL that means the same on both engines but cannot scale on Spark."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parent.parent / "src" / "listhygiene" / "rules" / "models"
# the run's settings tables and the previous run's input files: a row per setting or file
SMALL_TABLES = {"accepted_evidence", "reason_precedence", "run_params", "run_sources", "previous_inputs"}
NOT_IN = re.compile(r"\bnot\s+in\s*\(\s*select\b[^()]*?\bfrom\s+(\w+)", re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("path", sorted(MODELS.rglob("*.sql")), ids=lambda p: p.stem)
def test_no_model_says_not_in_over_a_table_that_grows(path: Path):
    # Spark runs `x not in (select ...)` as a broadcast of the whole subquery: a 5M night failed
    # on reported_rows' `not in (select email from memberships)` (docs/spark.md, sizing)
    text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
    grown = [m.group(1) for m in NOT_IN.finditer(text) if m.group(1) not in SMALL_TABLES]
    assert grown == [], f"{path.name}: not in over {grown}; say not exists (...) instead"


def test_the_check_sees_a_not_in_over_a_large_table():
    old = "where p.list_id is null\n  and p.email not in (select email from memberships)"
    assert [m.group(1) for m in NOT_IN.finditer(old)] == ["memberships"]
