"""The named rewrites that make a rule model (DuckDB's SQL) mean on Spark what it means on DuckDB.

Each takes the parsed model after its macros are expanded and returns it rewritten; a form a
rewrite cannot translate faithfully is refused with UnsupportedConstruct, naming the model.
rules/compile.py applies them in the order of REWRITES.
"""

from __future__ import annotations

import re
from collections.abc import Callable

try:
    from sqlglot import exp
except ImportError as missing:  # pragma: no cover - the spark extra is not installed
    raise ImportError(
        "compiling the rules for Spark needs sqlglot: pip install 'listhygiene[spark]'"
    ) from missing


class UnsupportedConstruct(ValueError):
    """A model uses DuckDB-only SQL the compiler cannot translate for the engine."""

    def __init__(self, model: str, construct: str, engine: str = "spark") -> None:
        super().__init__(f"models/{model}.sql cannot run on {engine}: {construct}")
        self.model = model
        self.construct = construct


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


def asof_joins(tree: exp.Expr, model: str) -> exp.Expr:
    """`l asof left join r on r.k = l.k and l.t >= r.t` as a range join on r's next time.

    Spark has no ASOF JOIN. r gets `lead(r.t) over (partition by its keys order by r.t)`, and a
    row of l joins the r row whose time is at or before its own and whose next time is after it
    (or which has none): the latest such row, as DuckDB picks. Of rows tied on r's time only
    the last has a later next time, so one row joins. Only `>=` and `>` (the last row before)
    are translated.
    """
    for join in list(tree.find_all(exp.Join)):
        if str(join.args.get("method") or "").upper() != "ASOF":
            continue
        right = join.this
        alias = right.alias_or_name
        conditions = (
            list(join.args["on"].flatten()) if isinstance(join.args["on"], exp.And) else [join.args["on"]]
        )
        keys = [c for c in conditions if isinstance(c, exp.EQ)]
        ranges = [c for c in conditions if isinstance(c, exp.GTE | exp.GT)]
        if not isinstance(right, exp.Table) or len(ranges) != 1 or len(keys) + 1 != len(conditions):
            raise UnsupportedConstruct(model, "ASOF JOIN other than `on keys = … and left.t >= right.t`")
        [inequality] = ranges
        later, earlier = inequality.this, inequality.expression
        if not (isinstance(earlier, exp.Column) and earlier.table == alias and later.table != alias):
            raise UnsupportedConstruct(model, "ASOF JOIN whose right side's time is not on the right of >=")
        partition = [
            exp.column(side.name)
            for key in keys
            for side in (key.this, key.expression)
            if isinstance(side, exp.Column) and side.table == alias
        ]
        if len(partition) != len(keys):
            raise UnsupportedConstruct(model, "ASOF JOIN whose keys are not columns of each side")
        following = exp.Window(
            this=exp.Anonymous(this="lead", expressions=[exp.column(earlier.name)]),
            partition_by=partition,
            order=exp.Order(expressions=[exp.Ordered(this=exp.column(earlier.name))]),
        )
        table = right.copy()
        table.set("alias", None)
        ranked = exp.select("*", exp.alias_(following, "_asof_next")).from_(table)
        join.set("this", exp.Subquery(this=ranked, alias=exp.TableAlias(this=exp.to_identifier(alias))))
        next_time = exp.column("_asof_next", table=alias)
        before_next = (exp.LT if isinstance(inequality, exp.GTE) else exp.LTE)(
            this=later.copy(), expression=next_time
        )
        bounded = exp.Paren(this=exp.or_(exp.Is(this=next_time.copy(), expression=exp.null()), before_next))
        join.set("on", exp.and_(join.args["on"].copy(), bounded))
        join.set("method", None)
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
    "asof_joins": asof_joins,
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
