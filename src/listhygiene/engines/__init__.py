"""Engines other than DuckDB that evaluate a night's rules and write its outputs (issue 22)."""

from __future__ import annotations

from listhygiene.engines import spark

__all__ = ["spark"]
