"""The rules: SQL models evaluated in order over the store, bounce classification, incremental nights."""

from listhygiene.rules.evaluation import LIST_COUNTS, Evaluation, evaluate, prepare_run_tables
from listhygiene.rules.reasons import PRECEDENCE, REASONS
from listhygiene.rules.runner import RUN_MODELS, build, build_all, model_sql, rules_digest

__all__ = [
    "LIST_COUNTS",
    "PRECEDENCE",
    "REASONS",
    "RUN_MODELS",
    "Evaluation",
    "build",
    "build_all",
    "evaluate",
    "model_sql",
    "prepare_run_tables",
    "rules_digest",
]
