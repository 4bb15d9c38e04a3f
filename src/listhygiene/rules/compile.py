"""The rule models compiled for an engine: DuckDB's SQL as written, Spark SQL through sqlglot.

The models (models/*.sql, DuckDB's dialect) stay the only copy of the rules. For Spark each model
is parsed, its macros (_macros.sql, with _macros_spark.sql's where Spark needs another technique)
are expanded in place, the named REWRITES (spark_rewrites.py) make it mean on Spark what it means on DuckDB,
and any DuckDB-only construct left is refused with the model's name rather than passed through
(sqlglot writes several of them out unchanged, and some run on Spark with other results).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from listhygiene.rules.runner import model_sql
from listhygiene.rules.spark_rewrites import REWRITES, UnsupportedConstruct

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.duckdb import DuckDB
    from sqlglot.tokens import TokenType
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "compiling the rules for Spark needs sqlglot: pip install 'listhygiene[spark]'"
    ) from missing

ENGINES = ("duckdb", "spark")
__all__ = ["ENGINES", "REWRITES", "UnsupportedConstruct", "compile_model", "compile_sql", "parse_macros"]


def compile_model(name: str, engine: str, macros: str = "") -> str:
    """The SQL of model `name` for `engine` ("duckdb": the model as written).

    `macros` adds macro definitions installed at run time (bounces' bounce_rule_position).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if engine == "duckdb":
        return model_sql(name)
    return compile_sql(model_sql(name), name, {**_macros(), **parse_macros(macros)})


def compile_sql(sql: str, model: str, macros: dict[str, Macro] | None = None) -> str:
    """DuckDB SQL of one SELECT as Spark SQL: macros expanded, REWRITES applied, the rest refused."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = expand_macros(tree, _macros() if macros is None else macros)
    for rewrite in REWRITES.values():
        tree = rewrite(tree, model)
    refuse_duckdb_only(tree, model)
    return tree.sql(dialect="spark", pretty=True)


# --- macros ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Macro:
    """A `create macro name(params) as body` of a macro file, its body parsed."""

    name: str
    params: tuple[str, ...]
    body: exp.Expr


_MACRO_HEAD = re.compile(
    r"^\s*create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?macro\s+(\w+)\s*\(([^)]*)\)\s+as\s+",
    re.IGNORECASE,
)


def parse_macros(text: str) -> dict[str, Macro]:
    """The macros of a file of `create macro` statements, by name (a later one replaces an earlier)."""
    macros = {}
    for statement in _statements(text):
        head = _MACRO_HEAD.match(statement)
        if head is None:
            raise ValueError(f"not a macro definition: {statement[:80]!r}")
        params = tuple(p.strip() for p in head.group(2).split(",") if p.strip())
        body = sqlglot.parse_one(statement[head.end() :], read="duckdb")
        macros[head.group(1).lower()] = Macro(head.group(1).lower(), params, body)
    return macros


def _statements(text: str) -> list[str]:
    """The statements of a SQL file, split at the semicolons outside strings and comments."""
    text = "\n".join(
        line.split("--", 1)[0] if line.lstrip().startswith("--") else line for line in text.splitlines()
    )
    out, start = [], 0
    for token in DuckDB().tokenize(text):
        if token.token_type == TokenType.SEMICOLON:
            out.append(text[start : token.start])
            start = token.end + 1
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


@cache
def _macros() -> dict[str, Macro]:
    """The shared macros, with Spark's own technique where _macros_spark.sql defines one."""
    return {**parse_macros(model_sql("_macros")), **parse_macros(model_sql("_macros_spark"))}


def expand_macros(tree: exp.Expr, macros: dict[str, Macro]) -> exp.Expr:
    """Every call of a macro replaced by its body, its parameters by the call's arguments."""

    def expand(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in macros:
            macro = macros[str(node.name).lower()]
            if len(node.expressions) != len(macro.params):
                raise ValueError(f"macro {macro.name} takes {len(macro.params)} arguments")
            body = _substitute(macro.body.copy(), dict(zip(macro.params, node.expressions)))
            return exp.Paren(this=expand_macros(body, macros))
        return node

    return tree.transform(expand, copy=False)


def _substitute(body: exp.Expr, args: dict[str, exp.Expr]) -> exp.Expr:
    """A macro body with each parameter (and each field of a row parameter: e.kind) replaced."""

    def replace(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Column):
            return node
        if not node.table and node.name in args:
            return args[node.name].copy()
        if node.table in args and not node.args.get("db"):
            row = args[node.table]
            if isinstance(row, exp.Column):
                return sqlglot.parse_one(f"{row.sql('duckdb')}.{node.name}", read="duckdb")
            return exp.Dot(this=row.copy(), expression=exp.to_identifier(node.name))
        return node

    return body.transform(replace, copy=False)


# --- what is refused ------------------------------------------------------------------------------

# 128-bit and unsigned integers: Spark has neither (DuckDB's packed keys are structs on Spark)
_NO_SPARK_TYPES = {"UHUGEINT", "HUGEINT", "UBIGINT", "UINT", "UINT128", "INT128", "USMALLINT", "UTINYINT"}
_DUCKDB_TYPE_NAMES = {"UINT128": "UHUGEINT", "INT128": "HUGEINT", "UINT": "UINTEGER"}
_NO_SPARK_FUNCTIONS = {
    "hash": "hash() (64 bits on DuckDB, 32 on Spark: the same rows hash differently)",
    "xor": "xor() of packed keys",
    "list_slice": "list_slice()",
}


def refuse_duckdb_only(tree: exp.Expr, model: str) -> None:
    """Raise UnsupportedConstruct for the first DuckDB-only construct still in a compiled model."""
    for node in tree.walk():
        construct = _duckdb_only(node)
        if construct:
            raise UnsupportedConstruct(model, construct)


def _duckdb_only(node: exp.Expr) -> str | None:
    if (
        isinstance(node, exp.Join)
        and "ASOF" in str(node.args.get("kind") or "").upper() + str(node.args.get("method") or "").upper()
    ):
        return "ASOF JOIN"
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        return "UNION ALL BY NAME"
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        return "a CTE marked [NOT] MATERIALIZED"
    if (
        isinstance(node, exp.Literal)
        and node.is_string
        and node.this.strip().lower() in {"-infinity", "infinity"}
    ):
        return f"the timestamp '{node.this}'"
    if isinstance(node, exp.DataType) and node.this.name in _NO_SPARK_TYPES:
        duckdb_name = _DUCKDB_TYPE_NAMES.get(node.this.name, node.this.name)
        return f"the type {duckdb_name} (a packed integer key; Spark has no unsigned or 128-bit integers)"
    if isinstance(node, exp.BitwiseLeftShift | exp.BitwiseRightShift):
        shift = node.expression
        if isinstance(shift, exp.Literal) and not shift.is_string and int(shift.this) >= 64:
            return f"a shift by {shift.this} bits (a 128-bit packed key)"
    if isinstance(node, exp.BitwiseXor):
        return "xor() of packed keys"
    if isinstance(node, exp.Anonymous) and str(node.name).lower() in _NO_SPARK_FUNCTIONS:
        return _NO_SPARK_FUNCTIONS[str(node.name).lower()]
    if isinstance(node, exp.Anonymous) and str(node.name).lower() in {"bounce_rule_position"}:
        return "the macro bounce_rule_position (pass bounces' macros to compile_model)"
    if type(node).__name__ in {"Hash", "Xor"}:
        return "hash() (64 bits on DuckDB, 32 on Spark)" if type(node).__name__ == "Hash" else "xor()"
    return None
