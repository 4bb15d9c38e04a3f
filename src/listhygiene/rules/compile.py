"""The rule models compiled for an engine: DuckDB's SQL as written, Spark SQL through sqlglot.

The models (models/*.sql, DuckDB's dialect) stay the only copy of the rules. For Spark each model
is parsed, its macros (_macros.sql, with _macros_spark.sql's where Spark needs another technique)
are expanded in place, the named REWRITES below make it mean on Spark what it means on DuckDB,
and any DuckDB-only construct left is refused with the model's name rather than passed through
(sqlglot writes several of them out unchanged, and some run on Spark with other results).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from listhygiene.rules.runner import model_sql

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


class UnsupportedConstruct(ValueError):
    """A model uses DuckDB-only SQL the compiler cannot translate for the engine."""

    def __init__(self, model: str, construct: str, engine: str = "spark") -> None:
        super().__init__(f"models/{model}.sql cannot run on {engine}: {construct}")
        self.model = model
        self.construct = construct


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


# --- rewrites: each makes a model mean on Spark what it means on DuckDB ------------------------------


def union_by_name(tree: exp.Expr, model: str) -> exp.Expr:
    """`UNION ALL BY NAME` (Spark SQL has none) as a positional union, its sides' columns lined up.

    Each side's columns are read from its projections, through `select *` of a CTE; a side
    whose columns cannot be named, or sides naming different columns, are refused.
    """
    ctes = {cte.alias_or_name: cte.this for cte in tree.find_all(exp.CTE)}
    for union in list(tree.find_all(exp.Union)):
        if not union.args.get("by_name"):
            continue
        left = _columns_of(union.left, ctes)
        right = _columns_of(union.right, ctes)
        if left is None or right is None or sorted(left) != sorted(right):
            raise UnsupportedConstruct(
                model, "UNION ALL BY NAME over sides whose columns differ or are unknown"
            )
        union.set("by_name", None)
        if left != right:
            union.set(
                "expression",
                exp.select(*left).from_(
                    exp.Subquery(
                        this=union.right.copy(), alias=exp.TableAlias(this=exp.to_identifier("_by_name"))
                    )
                ),
            )
    return tree


def _columns_of(query: exp.Expr, ctes: dict[str, exp.Expr]) -> list[str] | None:
    """The names of a query's output columns, or None when they cannot be known from the SQL."""
    if isinstance(query, exp.Union):
        return _columns_of(query.left, ctes)
    if isinstance(query, exp.Subquery):
        return _columns_of(query.this, ctes)
    if not isinstance(query, exp.Select):
        return None
    names: list[str] = []
    for projection in query.expressions:
        if isinstance(projection, exp.Star):
            source = query.args.get("from_") or query.args.get("from")
            table = source.this if source is not None else None
            if query.args.get("joins") or not isinstance(table, exp.Table) or table.name not in ctes:
                return None
            inner = _columns_of(ctes[table.name], ctes)
            if inner is None:
                return None
            names += inner
        elif projection.alias_or_name:
            names.append(projection.alias_or_name)
        else:
            return None
    return names


# strftime's codes in Java's DateTimeFormatter letters; anything else is literal text, quoted
_STRFTIME = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%%": "%"}


def strftime_patterns(tree: exp.Expr, model: str) -> exp.Expr:
    """strftime(t, '%Y-%m-%dT%H:%MZ') as date_format(t, "yyyy-MM-dd'T'HH:mm'Z'").

    Spark reads every letter of a pattern as a field (T is refused, Z writes the zone offset), so
    the text between codes is quoted; a code without a Java equivalent is refused.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.TimeToStr):
            return node
        fmt = node.args.get("format")
        if not isinstance(fmt, exp.Literal) or not fmt.is_string:
            raise UnsupportedConstruct(model, "strftime() with a pattern that is not a literal")
        pattern = []
        for part in re.split(r"(%.)", fmt.this):
            if part.startswith("%") and len(part) == 2:
                if part not in _STRFTIME:
                    raise UnsupportedConstruct(model, f"strftime() code {part}")
                pattern.append(_STRFTIME[part])
            elif part:
                pattern.append("'" + part.replace("'", "''") + "'")
        return exp.Anonymous(
            this="date_format", expressions=[node.this, exp.Literal.string("".join(pattern))]
        )

    return tree.transform(rewrite, copy=False)


def arg_min_skips_nulls(tree: exp.Expr, model: str) -> exp.Expr:
    """arg_min(v, k) as min_by(v, k) over the rows where v and k are set (arg_max as max_by).

    DuckDB's arg_min ignores a row whose value is NULL; Spark's min_by returns that NULL when the
    row has the smallest key. An aggregate's own FILTER is kept beside the new condition.
    """
    for node in list(tree.find_all(exp.ArgMin, exp.ArgMax)):
        value, key = node.this, node.expression
        needed = exp.and_(
            exp.Not(this=exp.Is(this=value.copy(), expression=exp.null())),
            exp.Not(this=exp.Is(this=key.copy(), expression=exp.null())),
        )
        parent = node.parent
        if isinstance(parent, exp.Filter):
            condition = parent.expression.this
            parent.expression.set("this", exp.and_(exp.Paren(this=condition.copy()), needed))
        else:
            node.replace(exp.Filter(this=node.copy(), expression=exp.Where(this=needed)))
    return tree


def nested_nulls_last(tree: exp.Expr, model: str) -> exp.Expr:
    """A struct compared by min(), max() or as an arg_min() key orders a NULL field last, as on DuckDB.

    DuckDB ranks a NULL inside a struct above every value; Spark below. Each field is preceded by
    a flag `<field>_is_null` (false first), so both engines pick the same row. The struct a
    min() or max() returns is rebuilt without the flags, so it keeps DuckDB's shape (it may be
    compared with other structs); Spark computes the repeated aggregate once.
    """
    for node in list(tree.find_all(exp.Min, exp.Max, exp.ArgMin, exp.ArgMax)):
        compared = node.expression if isinstance(node, exp.ArgMin | exp.ArgMax) else node.this
        if isinstance(compared, exp.Paren):
            compared = compared.this
        if not isinstance(compared, exp.Struct):
            continue
        fields: list[exp.Expr] = []
        names: list[str] = []
        for position, field in enumerate(compared.expressions):
            if isinstance(field, exp.PropertyEQ | exp.Alias | exp.Slice):
                name, value = (
                    (field.this.name, field.expression)
                    if not isinstance(field, exp.Alias)
                    else (field.alias, field.this)
                )
            else:
                name, value = f"_{position}", field
            name = str(name)
            fields.append(
                exp.PropertyEQ(
                    this=exp.to_identifier(f"{name}_is_null"),
                    expression=exp.Is(this=value.copy(), expression=exp.null()),
                )
            )
            fields.append(exp.PropertyEQ(this=exp.to_identifier(name), expression=value.copy()))
            names.append(name)
        compared.replace(exp.Struct(expressions=fields))
        if isinstance(node, exp.Min | exp.Max):
            node.replace(
                exp.Struct(
                    expressions=[
                        exp.PropertyEQ(
                            this=exp.to_identifier(name),
                            expression=exp.Dot(
                                this=exp.Paren(this=node.copy()), expression=exp.to_identifier(name)
                            ),
                        )
                        for name in names
                    ]
                )
            )
    return tree


def list_slices(tree: exp.Expr, model: str) -> exp.Expr:
    """list[a:b] (DuckDB: 1-based, both ends included) as slice(list, a, b - a + 1)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Bracket) or not any(isinstance(e, exp.Slice) for e in node.expressions):
            return node
        [bounds] = node.expressions
        start, end = bounds.this, bounds.expression
        if (
            not (isinstance(start, exp.Literal) and isinstance(end, exp.Literal))
            or start.is_string
            or end.is_string
        ):
            raise UnsupportedConstruct(model, "a list slice [a:b] whose bounds are not whole numbers")
        first, last = int(start.this), int(end.this)
        if first < 1 or last < first:
            raise UnsupportedConstruct(model, f"the list slice [{first}:{last}]")
        return exp.Anonymous(
            this="slice",
            expressions=[node.this, exp.Literal.number(first), exp.Literal.number(last - first + 1)],
        )

    return tree.transform(rewrite, copy=False)


def whole_rows(tree: exp.Expr, model: str) -> exp.Expr:
    """A table's alias used as a value (a whole row: `arg_min(e, t)`, `to_json(p)`) as struct(e.*).

    A row in DuckDB is a struct of the table's columns; Spark builds the same struct from them.
    A row tuple `(a, b)` as a value (count(distinct (a, b))) is a struct too: Spark would count
    the rows where neither is NULL, DuckDB counts distinct pairs, NULLs included.
    """
    for select in list(tree.find_all(exp.Select)):
        aliases = {t.alias_or_name for t in _tables_of(select)}
        for column in list(select.find_all(exp.Column)):
            if column.table or column.name not in aliases or _scope_of(column) is not select:
                continue
            if isinstance(column.parent, exp.Dot):
                continue
            row = exp.Anonymous(
                this="struct", expressions=[exp.Column(this=exp.Star(), table=exp.to_identifier(column.name))]
            )
            # a projection keeps the alias's name as its column's, as on DuckDB
            column.replace(exp.alias_(row, column.name) if column.parent is select else row)
    for node in list(tree.find_all(exp.Tuple)):
        if isinstance(node.parent, exp.Distinct) and isinstance(node.parent.parent, exp.Count):
            node.replace(exp.Anonymous(this="struct", expressions=[e.copy() for e in node.expressions]))
    return tree


def _tables_of(select: exp.Select) -> list[exp.Expr]:
    source = select.args.get("from_") or select.args.get("from")
    found = [source.this] if source is not None else []
    found += [join.this for join in select.args.get("joins") or []]
    return [t for t in found if isinstance(t, exp.Table | exp.Subquery)]


def _scope_of(node: exp.Expr) -> exp.Expr | None:
    """The nearest SELECT above a node."""
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


def qualify_as_filter(tree: exp.Expr, model: str) -> exp.Expr:
    """`select … qualify c` as `select <names> from (select …, c as _qualifies) where _qualifies`.

    Spark before 4.1 has no QUALIFY, and sqlglot's own rewrite of it drops the table aliases
    the projections are qualified with (f.file_id). The select's columns must be named.
    """
    for select in list(tree.find_all(exp.Select)):
        condition = select.args.get("qualify")
        if condition is None:
            continue
        names = [p.alias_or_name for p in select.expressions]
        if any(isinstance(p, exp.Star) or not name for p, name in zip(select.expressions, names)):
            raise UnsupportedConstruct(model, "QUALIFY on a select whose columns are not all named")
        inner = select.copy()
        inner.set("qualify", None)
        inner.select(exp.alias_(condition.this.copy(), "_qualifies"), copy=False)
        outer = (
            exp.select(*[exp.column(name) for name in names])
            .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_qualified"))))
            .where(exp.column("_qualifies"))
        )
        if select is tree:
            tree = outer
        else:
            select.replace(outer)
    return tree


def regexp_flags(tree: exp.Expr, model: str) -> exp.Expr:
    """regexp_matches(s, p, 'i') as s RLIKE '(?i)p'; regexp_replace() of one match kept to one.

    sqlglot drops the flag argument, which made a case-insensitive rule case-sensitive on Spark.
    DuckDB's regexp_replace without 'g' replaces the first match only, Spark's every match: the
    same only for a pattern anchored at the start (one match at most), else refused.
    """
    for node in list(tree.find_all(exp.RegexpLike)):
        flag = node.args.get("flag")
        if flag is None:
            continue
        pattern = node.expression
        if not (
            isinstance(flag, exp.Literal) and set(flag.this) <= {"i"} and isinstance(pattern, exp.Literal)
        ):
            raise UnsupportedConstruct(model, f"regexp_matches() with the options {flag.sql('duckdb')}")
        if flag.this:
            node.set("expression", exp.Literal.string("(?i)" + pattern.this))
        node.set("flag", None)
    for replace in list(tree.find_all(exp.RegexpReplace)):
        pattern = replace.expression
        if replace.args.get("single_replace") and not (
            isinstance(pattern, exp.Literal) and pattern.this.startswith("^")
        ):
            raise UnsupportedConstruct(model, "regexp_replace() of the first match only (Spark replaces all)")
    return tree


def day_intervals(tree: exp.Expr, model: str) -> exp.Expr:
    """to_days(n) (an interval of n days) as make_dt_interval(n), the type Spark's t1 - t2 has."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ToDays):
            return exp.Anonymous(this="make_dt_interval", expressions=[node.this])
        return node

    return tree.transform(rewrite, copy=False)


# Applied in this order (each a pure function of the tree; the order only fixes the output text).
REWRITES: dict[str, Callable[[exp.Expr, str], exp.Expr]] = {
    "union_by_name": union_by_name,
    "strftime_patterns": strftime_patterns,
    "nested_nulls_last": nested_nulls_last,
    "arg_min_skips_nulls": arg_min_skips_nulls,
    "list_slices": list_slices,
    "whole_rows": whole_rows,
    "day_intervals": day_intervals,
    "qualify_as_filter": qualify_as_filter,
    "regexp_flags": regexp_flags,
}


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
