"""Loading's faster path against the path it replaced: the same stored rows, quarantine, counts and errors.

The reference path is kept here, for this test only: each batch classified by the rules' model
over the whole batch (where the loader now classifies each distinct reply once). Hostile
files (bad UTF-8, BOM, CRLF, quotes, gzip, ragged rows, bad dates and codes, empty emails, IDNA
domains, huge fields, Parquet) and hypothesis-made bounce logs go through both at several batch
sizes.
"""

from __future__ import annotations

import gzip
import json
import os
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import count
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from listhygiene.config import Mapping
from listhygiene.errors import InputError
from listhygiene.ingest import parsing, reading
from listhygiene.rules import bounces
from listhygiene.store import database, inserting, loading
from listhygiene.store.inserting import TABLE_OF_KIND
from listhygiene.store.loading import insert_batches

ROOT = Path(__file__).parent.parent
FILE_IDS = count(1)


def reference_insert_rows(con, kind: str, rows: pl.DataFrame, guard=None) -> None:
    """store.inserting.insert_rows as it was: each batch classified by the rules' model whole."""
    assert guard is None
    found = inserting.normalize_addresses(rows["email_raw"])
    batch = inserting.arrow_of(
        inserting.with_spelling_apart(rows.with_columns(found["email"], found["email_valid"]))
    )
    new_bounces = new_rows = batch  # noqa: F841  (read by name by the SQL)
    batch_sql = bounces.classified_bounces_sql(con) if kind == "bounces" else "select * from new_rows"
    con.execute(f"insert into {TABLE_OF_KIND[kind]} by name {batch_sql}")


@contextmanager
def batch_rows(rows: int | None):
    before = os.environ.get("LISTHYGIENE_BATCH_ROWS")
    if rows is None:
        os.environ.pop("LISTHYGIENE_BATCH_ROWS", None)
    else:
        os.environ["LISTHYGIENE_BATCH_ROWS"] = str(rows)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LISTHYGIENE_BATCH_ROWS", None)
        else:
            os.environ["LISTHYGIENE_BATCH_ROWS"] = before


@contextmanager
def reference_path():
    saved = loading.insert_rows
    loading.insert_rows = reference_insert_rows
    try:
        yield
    finally:
        loading.insert_rows = saved


@contextmanager
def text_times():
    """The reference for Parquet: every column read as text and parsed back, as before typed times."""
    saved = reading.TIME_COLUMNS
    reading.TIME_COLUMNS = ()
    try:
        yield
    finally:
        reading.TIME_COLUMNS = saved


def load(con, path: Path, kind: str, *, reference, mapping: Mapping | None = None):
    """One file loaded into the store: (stored rows, quarantine, rows read, warnings, snapshot) or the error."""
    file_id = next(FILE_IDS)
    with reference() if reference else _nothing():
        try:
            batches = reading.read_batches(path, source="s", kind=kind, sha256="", mapping=mapping)
            loaded, _ = insert_batches(con, ((kind, rows) for rows in batches), file_id)
        except InputError as exc:
            return ("error", str(exc), exc.column)
    result = batches.result
    stored = con.execute(
        f"select * exclude (file_id) from {TABLE_OF_KIND[kind]} where file_id = ? order by row_number",
        [file_id],
    ).fetchall()
    assert result.rows_read == sum(loaded.values()) + result.quarantine.height
    return stored, result.quarantine, result.rows_read, result.warnings, result.snapshot_at


@contextmanager
def _nothing():
    yield


def assert_same_load(
    con, path: Path, kind: str, rows: int | None, *, reference=reference_path, mapping: Mapping | None = None
) -> None:
    with batch_rows(rows):
        old = load(con, path, kind, reference=reference, mapping=mapping)
        new = load(con, path, kind, reference=None, mapping=mapping)
    if old[0] == "error":
        assert new == old
        return
    assert new[0] == old[0]
    assert_frame_equal(new[1], old[1])
    assert new[2:] == old[2:]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    con = database.connect(tmp_path_factory.mktemp("store") / "store.duckdb")
    con.begin()
    bounces.install_rules(con, bounces.load_ruleset(None))
    yield con
    con.rollback()
    con.close()


BOUNCE_HEADER = b"email,occurred_at,event,campaign_id,bounce_type,smtp_code,enhanced_code,diagnostic"
HOSTILE = {
    "bounces_bad_utf8_crlf_bom.csv": (
        "bounces",
        b"\xef\xbb\xbf" + BOUNCE_HEADER + b"\r\n"
        b'ann@example.com,2026-11-20T10:00:00Z,bounce,c-1,Permanent,550,5.1.1,"smtp; 550 5.1.1 user unknown"\r\n'
        b"bob@example.com,2026-11-20 11:30,Delivery,c-1,,,,\r\n"
        b"cid@example.com,2026-11-20T12:00:00+0100,bounce,c-2,Transient,smtp; 421 try later,#4.7.0,caf\xe9\r\n"
        b"dan@example.com,yesterday,bounce,c-2,soft,421,4.7.0,\r\n"
        b",2026-11-20T10:00:00Z,bounce,c-1,hard,550,5.1.1,no address\r\n"
        b"Eve <EVE@B\xc3\xbcCHER.de>,2026-11-20T10:00:00Z,bounce,c-1,hard,999,9.9.9,\r\n"
        b"mailto:fay@example.com?subject=x,10000-01-01,bounce,c-1,weird,abc,x,\r\n"
        b'gus@example.com,2026-11-20T10:00:00Z,bounce,c-3,,,,"quoted, with comma\r\nand newline"\r\n'
        b"hal@example.com,2026-11-20T10:00:00Z,bounce,c-3,,,,x,overflow,more\r\n"
        b"\r\n"
        b",,,,,,,\r\n"
        b"ivy@example.com,1969-12-31T23:59:59Z,complaint,c-4,,,,\r\n"
        b"kim@example.com,2026-11-20T10:00:00Z,bounce,c-4,,,,\r\n"
        b"lou@example.com,2026-11-20T10:00:00Z,complaint,c-4,Permanent,550,5.1.1,"
        b'"smtp; 550 5.1.1 user unknown"\r\n'
        b"jo@example.com,2026-11-20T10:00:00Z,bounce,c-1,Permanent,550,5.1.1,"
        + b"y"
        * 20_000
        + b"\r\nann@example.com,2026-11-21T10:00:00Z,bounce,c-5,Permanent,550,5.1.1,"
        b'"smtp; 550 5.1.1 user unknown"\r\n',
    ),
    "bounces_header_only.csv": ("bounces", BOUNCE_HEADER + b"\n"),
    "bounces_empty.csv": ("bounces", b""),
    "bounces_missing_column.csv": ("bounces", b"email,event\na@x.com,bounce\n"),
    "bounces_unclosed_quote.csv": (
        "bounces",
        b'email,occurred_at\na@x.com,2026-01-01\n"b@x.com,2026-01-02\n',
    ),
    "bounces_header_bad_byte.csv": ("bounces", b"email,occurred_at,n\xffote\na@x.com,2026-01-01,x\n"),
    "unsubscribes_mixed.csv": (
        "unsubscribes",
        b"email,occurred_at,event,list_id,source,evidence,evidence_ref,campaign_id,reason\n"
        b"ann@example.com,2026-11-20T10:00:00Z,,news,,,,c-1,too many mails\n"
        b"bob@example.com,2026-11-20,Do-Not-Contact,,admin,,,,\n"
        b"cid@example.com,2026-11-20T12:00Z,resubscribe,news,integration,Signup Form,form-7,,\n"
        b"dan@example.com,someday,unsubscribe,news,contact,,,,\n"
        b" ,2026-11-20T12:00Z,resubscribe,news,nowhere,,,,\n"
        b"\xe9ve@example.com,2026-11-20T12:00Z,unsubscribe,news,,,,,\n",
    ),
    "contacts_2026-11-21.csv": (
        "contacts",
        b"\xef\xbb\xbfContact_ID, Email ,List_ID,Status,Confirmed_At,Do_Not_Contact,Exported_At,Notes\r\n"
        b'c1,ann@example.com,news,Active,2026-01-02T03:04:05Z,no,2026-11-21T03:00:00Z,"cats, dogs"\r\n'
        b"c2,bob@example.com,,opted-out,,YES,2026-11-21T03:00:00Z,\r\n"
        b"c3,cid@example.com, news ,zombie,2026-13-02,maybe,2026-11-20 23:00:00-05:00,Z\xffe\r\n"
        b"c4,,offers,pending,,n,2026-11-21T03:00:00Z,\r\n"
        b",dan@xn--bcher-kva.example,offers,pending,,n,2026-11-21T03:00:00Z,x,y\r\n",
    ),
    "suppressions_2026-11-21.csv": (
        "suppressions",
        b"email,email_sha256,list_id,reason,occurred_at\n"
        b"ann@example.com,,news,legal,2026-11-20\n"
        b",ABCDEF" + b"0" * 58 + b",,,\n"
        b",nothex,,,\n"
        b",,,,\n"
        b"bob@example.com," + b"a" * 64 + b",,,\n"
        b"cid@example.com,,,,2150-01-01\n",
    ),
}


@pytest.mark.parametrize("rows", [1, 3, None])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_load_the_same(store, tmp_path, name, rows):
    kind, content = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(content)
    assert_same_load(store, path, kind, rows)
    if content and name.endswith(".csv"):
        zipped = tmp_path / (name + ".gz")
        zipped.write_bytes(gzip.compress(content))
        assert_same_load(store, zipped, kind, rows)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (ROOT / "tests/data/ingest/bounces_sample.csv", "bounces"),
        (ROOT / "tests/data/ingest/unsubscribes_sample.csv", "unsubscribes"),
        (ROOT / "tests/data/ingest/contacts_bom_crlf.csv", "contacts"),
        (ROOT / "data/sample/bounces.csv", "bounces"),
        (ROOT / "data/sample/unsubscribes.csv", "unsubscribes"),
        (ROOT / "data/sample/contacts_2026-11-21.csv", "contacts"),
        (ROOT / "tests/data/corpora/sisimai_bounces.csv", "bounces"),
    ],
)
@pytest.mark.parametrize("rows", [2, None])
def test_the_data_files_load_the_same(store, path, kind, rows):
    assert_same_load(store, path, kind, rows)


def test_parquet_bounces_load_the_same(store, tmp_path):
    path = tmp_path / "bounces.parquet"
    pl.DataFrame(
        {
            "email": ["Ann@Example.com", None, "bob@bücher.de", "cid@example.com", "dan@example.com"],
            "occurred_at": [
                datetime(2026, 11, 20, 10, tzinfo=UTC),
                datetime(2026, 11, 20, 11, tzinfo=UTC),
                datetime(1960, 1, 1, tzinfo=UTC),
                None,
                datetime(2026, 11, 20, 12, tzinfo=UTC),
            ],
            "event": ["bounce", "bounce", "delivered", "bounce", "Bounce"],
            "smtp_code": [550, 550, None, 421, 250],
            "enhanced_code": ["5.1.1", "5.1.1", None, "4.7.0", "2.0.0"],
            "diagnostic": [b"user unknown", b"user unknown", None, b"\xff\xfe", b"ok"],
        }
    ).write_parquet(path)
    for rows in (1, 2, None):
        assert_same_load(store, path, "bounces", rows)


# Each column's cells: the usable ones (drawn three times as often), then the hostile ones.
CELL_KINDS = {
    "email": (
        ["ann@example.com", "BOB@EXAMPLE.COM", "Jane <j@bücher.de>"],
        ["", " ", "bad", "x@y.z.", "é@\xe9.fr"],
    ),
    "occurred_at": (
        ["2026-11-20T10:00:00Z", "2026-11-20", "2026-11-20 10:00+01"],
        ["yesterday", "", "10000-01-01", "1969-12-31", "2026-02-30"],
    ),
    "event": (["bounce", "Delivery", "complaint", " BOUNCE "], ["", "bogus"]),
    "campaign_id": (["c-1", "", "c 2"], []),
    "bounce_type": (["", "Permanent", "transient", "hard", "soft", "blocked"], ["weird"]),
    "smtp_code": (["", "550", "421", "smtp; 452 full"], ["999", "abc"]),
    "enhanced_code": (["", "5.1.1", "#4.7.0", "5.0.0", "4.2.2"], ["x"]),
    "diagnostic": (
        [
            "",
            "smtp; 550 5.1.1 user unknown",
            "452 4.2.2 mailbox full",
            "5.7.1 blocked as spam",
            "quoted, with comma",
            "line\nbreak",
            "550-5.1.1 The email account does not exist",
        ],
        ["\xff bad byte"],
    ),
}
CELLS = {column: usable * 3 + hostile for column, (usable, hostile) in CELL_KINDS.items()}
COLUMN_ORDER = list(CELLS)
REPLY = ("bounce_type", "smtp_code", "enhanced_code", "diagnostic")


def csv_field(value: str) -> bytes:
    raw = value.encode("latin-1") if "\xff" in value else value.encode("utf-8")
    if any(c in value for c in ',"\n'):
        return b'"' + raw.replace(b'"', b'""') + b'"'
    return raw


@st.composite
def bounce_logs(draw):
    columns = draw(st.lists(st.sampled_from(COLUMN_ORDER), min_size=2, max_size=8, unique=True))
    for required in ("event", "occurred_at", "email"):
        if required not in columns:
            columns.insert(0, required)
    # a few replies, each repeated (in other batches, and by events other than bounces), and
    # cells drawn one by one
    replies = draw(
        st.lists(st.fixed_dictionaries({c: st.sampled_from(CELLS[c]) for c in REPLY}), min_size=1, max_size=4)
    )
    clean = st.fixed_dictionaries({c: st.sampled_from(CELL_KINDS[c][0]) for c in columns})
    hostile = st.fixed_dictionaries({c: st.sampled_from(CELLS[c]) for c in columns})
    row = st.tuples(
        st.one_of(clean, clean, hostile),
        st.sampled_from([None, *replies]),
        st.sampled_from([0, 0, 0, 1]),  # extra fields
    )
    rows = [
        ({**cells, **{c: v for c, v in (reply or {}).items() if c in columns}}, extra)
        for cells, reply, extra in draw(st.lists(row, min_size=6, max_size=30))
    ]
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    bom = draw(st.booleans())
    lines = [b",".join(c.encode() for c in columns)]
    for cells, extra in rows:
        lines.append(b",".join(csv_field(cells[c]) for c in columns) + b",spare" * extra)
    content = (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines) + newline
    return content, draw(st.booleans()), draw(st.sampled_from([1, 2, 7, None]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bounce_logs())
def test_made_up_bounce_logs_load_the_same(store, tmp_path, log):
    content, zipped, rows = log
    path = tmp_path / ("bounces.csv.gz" if zipped else "bounces.csv")
    path.write_bytes(gzip.compress(content) if zipped else content)
    assert_same_load(store, path, "bounces", rows)


def test_replies_are_classified_again_under_other_rules(tmp_path):
    """The classes kept for replies are those of the rules installed: other rules, new classes."""
    con = database.connect(tmp_path / "store.duckdb")
    con.begin()
    path = ROOT / "tests/data/ingest/bounces_sample.csv"
    try:
        ruleset = bounces.load_ruleset(None)
        bounces.install_rules(con, ruleset)
        assert_same_load(con, path, "bounces", None)
        # the same rules but the two the sample's bounces matched: they fall to later rules
        kept = tuple(r for r in ruleset.rules if r.id not in ("user-unknown", "code-security-policy"))
        fewer = bounces.Ruleset(kept, ruleset.version, "fewer")
        bounces.install_rules(con, fewer)
        assert_same_load(con, path, "bounces", None)
        classes = con.execute(
            "select distinct file_id, bounce_rule from bounce_events order by all"
        ).fetchall()
        by_file = {file_id: {rule for f, rule in classes if f == file_id} for file_id, _ in classes}
        assert len({frozenset(rules) for rules in by_file.values()}) == 2  # the rules did change a class
    finally:
        con.rollback()
        con.close()


# Parquet files' typed times (Datetime naive or zoned, Date) are converted without their text; the
# reference reads every column as text and parses it back. Values around each edge: DST gaps and
# overlaps of the zones below, sub-microsecond digits, the accepted range (1970-2099), the years
# ISO 8601's shape allows (0000-9999, others refused as not a timestamp), nulls.
WALL_CLOCK = [
    datetime(2026, 11, 20, 10, 0),
    datetime(2026, 3, 29, 2, 30),  # Paris: in the spring gap
    datetime(2026, 10, 25, 2, 30),  # Paris: twice in the autumn
    datetime(2026, 3, 8, 2, 30),  # New York: gap
    datetime(2026, 11, 1, 1, 30, 0, 500),  # New York: twice
    datetime(1970, 1, 1, 0, 30),  # in range in UTC, not east of it
    datetime(1969, 12, 31, 23, 59, 59, 999999),
    datetime(2099, 12, 31, 23, 30),  # in range in UTC, not west of it
    datetime(2100, 1, 1),
    datetime(1960, 5, 5),
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59),
    None,
]
MICROS = pl.Datetime("us")
# year 0, year -1, year 10000 (written -0001, +10000: not ISO 8601's shape)
FAR = pl.Series([-62167219200_000000, -62198755200_000000, 253402300800_000000], dtype=pl.Int64).cast(MICROS)
NANOS = pl.Series(
    [1774745400_123456789, 1774745400_999999999, -1_500, -1_000_000_500, 4102444799_999999999, None],
    dtype=pl.Int64,
).cast(pl.Datetime("ns"))
DATES = [date(2026, 11, 20), date(2018, 11, 4), date(1969, 12, 31), date(2100, 1, 1), date(1, 1, 1), None]
ZONES = ["UTC", "Europe/Paris", "America/New_York", "America/Sao_Paulo", "Asia/Kolkata"]


def typed_times() -> dict[str, pl.Series]:
    naive = pl.concat([pl.Series(WALL_CLOCK, dtype=MICROS), FAR])
    nanos = pl.concat([NANOS, pl.Series([None] * (naive.len() - NANOS.len()), dtype=pl.Datetime("ns"))])
    days = pl.Series(DATES * 3, dtype=pl.Date).head(naive.len())
    return {
        "naive": naive,
        "zoned": naive.dt.replace_time_zone("Asia/Tokyo"),
        "utc_ms": naive.dt.cast_time_unit("ms").dt.replace_time_zone("UTC"),
        "naive_ns": nanos,
        "zoned_ns": nanos.dt.replace_time_zone("America/New_York", ambiguous="earliest", non_existent="null"),
        "date": days,
    }


def typed_file(tmp_path: Path, kind: str, times: pl.Series) -> Path:
    """A Parquet file of the kind whose every time column holds `times` (a second one reversed)."""
    n = times.len()
    emails = pl.Series([f"user{i}@example.com" for i in range(n)])
    if kind == "contacts":
        columns = {
            "contact_id": [f"c{i}" for i in range(n)],
            "email": emails,
            "list_id": ["news"] * n,
            "confirmed_at": times.reverse(),
            "exported_at": times,
            "signed_up": times,  # an attribute: text, as read
        }
    elif kind == "suppressions":
        columns = {"email": emails, "reason": ["legal"] * n, "occurred_at": times}
    else:
        columns = {
            "email": emails,
            "occurred_at": times,
            "event": ["bounce", "complaint"] * (n // 2) + ["x"] * (n % 2),
        }
        columns["campaign_id"] = times.reverse()  # a time in a text column: text
    path = tmp_path / f"{kind}_2026-11-21.parquet"
    pl.DataFrame(columns).write_parquet(path)
    return path


@pytest.fixture
def typed_calls(monkeypatch):
    """How many times the typed path converted a column (the comparison must not be vacuous)."""
    calls = []
    convert = parsing.typed_timestamps
    monkeypatch.setattr(parsing, "typed_timestamps", lambda *a: calls.append(a[0].dtype) or convert(*a))
    return calls


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("column", sorted(typed_times()))
@pytest.mark.parametrize("kind", ["bounces", "unsubscribes", "contacts", "suppressions"])
def test_parquet_typed_times_load_as_their_text_does(store, tmp_path, typed_calls, kind, column, zone):
    path = typed_file(tmp_path, kind, typed_times()[column])
    for rows in (4, None):
        assert_same_load(store, path, kind, rows, reference=text_times, mapping=Mapping(time_zone=zone))
    assert typed_calls  # the new path did convert typed values


def test_parquet_typed_times_quarantine_with_their_text(store, tmp_path):
    """What the reference agrees with, said once: the raw text and the message of a refused time."""
    path = typed_file(tmp_path, "bounces", typed_times()["naive"])
    _, quarantine, *_ = load(
        store, path, "bounces", reference=None, mapping=Mapping(time_zone="Europe/Paris")
    )
    by_row = {row["row_number"]: row for row in quarantine.iter_rows(named=True)}
    assert by_row[7]["error"] == (
        "occurred_at '1969-12-31T23:59:59.999999' is outside the times listhygiene accepts (from 1970 to 2099)"
    )
    assert json.loads(by_row[7]["raw"])["occurred_at"] == "1969-12-31T23:59:59.999999"
    assert by_row[16]["error"] == "occurred_at '+10000-01-01T00:00:00' is not an ISO 8601 timestamp"
    assert by_row[6]["column"] == "occurred_at"  # 00:30 in Paris is 1969 in UTC
    assert by_row[13]["error"] == "occurred_at is empty"


def test_parquet_typed_times_with_value_maps_or_renames(store, tmp_path, typed_calls):
    """A value map on a time column reads its words as text; a renamed column is still typed."""
    times = typed_times()["zoned"]
    path = tmp_path / "bounces.parquet"
    pl.DataFrame({"Email": [f"u{i}@x.com" for i in range(times.len())], "When": times}).write_parquet(path)
    renamed = Mapping(columns={"email": "email", "when": "occurred_at"})
    assert_same_load(store, path, "bounces", None, reference=text_times, mapping=renamed)
    assert typed_calls
    typed_calls.clear()
    mapped = Mapping(columns=renamed.columns, values={"occurred_at": {"never": "2026-01-01"}})
    assert_same_load(store, path, "bounces", None, reference=text_times, mapping=mapped)
    assert not typed_calls


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-70_000 * 86_400_000_000, 3_000_000 * 86_400_000_000 // 10)),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["us", "ms", "ns"]),
    st.sampled_from([None, "UTC", "Europe/Paris", "America/Sao_Paulo"]),
    st.sampled_from(ZONES),
    st.booleans(),
)
def test_made_up_parquet_times_load_as_their_text_does(
    store, tmp_path, micros, unit, file_zone, zone, as_date
):
    values = pl.Series(micros, dtype=pl.Int64).cast(MICROS)
    if unit == "ns":
        values = values.clip(datetime(1678, 1, 1), datetime(2261, 12, 31)).dt.cast_time_unit("ns")
    else:
        values = values.dt.cast_time_unit(unit)
    if as_date:
        values = values.dt.date()
    elif file_zone is not None:
        values = values.dt.replace_time_zone(file_zone, ambiguous="earliest", non_existent="null")
    path = tmp_path / "bounces.parquet"
    pl.DataFrame({"email": ["a@x.com"] * values.len(), "occurred_at": values}).write_parquet(path)
    assert_same_load(store, path, "bounces", 5, reference=text_times, mapping=Mapping(time_zone=zone))
