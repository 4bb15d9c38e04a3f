"""A file's header matched to its kind's canonical columns: renames, value maps, duplicates, attributes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from listhygiene.config import Mapping
from listhygiene.csv_files import REPLACED_BYTES, RawTable, unique_names
from listhygiene.errors import InputError
from listhygiene.masking import mask_addresses_in
from listhygiene.vocabulary import KINDS, ONE_OF_COLUMNS

# What to do when a file's bytes do not decode (a Latin-1 or Windows-1252 export read as UTF-8).
ENCODING_HINT = (
    'The file is probably in another encoding: set encoding = "windows-1252" (or the one the '
    "export uses, e.g. latin-1) on its source in the pipeline file."
)


def renamed(headers: list[str], mapping: Mapping) -> list[str]:
    """Headers with the pipeline file's renames applied (matched trimmed, case-insensitively)."""
    if not mapping.columns:
        return headers
    return [mapping.columns.get(h.strip().lower(), h) for h in headers]


def with_value_maps(text: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """The pipeline file's own words replaced by canonical ones (matched trimmed, case-insensitively).

    Words not in the map are left as they are, for the schema to accept or quarantine.
    """
    if not mapping.values:
        return text
    return text.with_columns(
        pl.col(column)
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(words, default=pl.col(column), return_dtype=pl.String)
        .alias(column)
        for column, words in mapping.values.items()
        if column in text.columns
    )


def match_columns(
    headers: list[str], kind: str, path: Path, warnings: list[str]
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Map canonical column names to header positions; return the extra columns with their names."""
    spec = KINDS[kind]
    known = spec.required + spec.optional
    found: dict[str, list[int]] = {}
    for position, header in enumerate(headers):
        found.setdefault(header.strip().lower(), []).append(position)
    for name in known:
        if len(found.get(name, ())) > 1:
            spellings = ", ".join(repr(headers[p]) for p in found[name])
            raise InputError(
                f"column {name!r} appears {len(found[name])} times ({spellings}).",
                file=str(path),
                column=name,
                hint="Keep one of them so it is clear which holds the data.",
            )
    missing = [name for name in spec.required if name not in found]
    if missing:
        raise missing_column_error(path, missing[0], headers, known)
    either = ONE_OF_COLUMNS.get(kind, ())
    if either and not any(name in found for name in either):
        raise missing_column_error(
            path, " or ".join(repr(name) for name in either), headers, known, quoted=True
        )
    for position, header in enumerate(headers):
        if REPLACED_BYTES in header:
            raise InputError(
                f"the header's column {position + 1} holds bytes that are not valid in the file's "
                f"encoding; read as {mask_addresses_in(repr(header.strip()[:40]))}, its name would change silently.",
                file=str(path),
                hint=ENCODING_HINT,
            )
    positions = {name: found[name][0] for name in known if name in found}
    extras = _attribute_names(headers, set(positions.values()), path, warnings, kind)
    return positions, extras


def missing_column_error(
    path: Path, column: str, headers: list[str], known: tuple[str, ...], *, quoted: bool = False
) -> InputError:
    """InputError naming the missing column (or columns, already `quoted`) and the columns found,
    with a hint about why."""
    # a file without a header row shows its first data row here: never print an address of it
    shown = [mask_addresses_in(repr(h.strip()[:40])) for h in headers[:20]] + (
        ["…"] if len(headers) > 20 else []
    )
    found = ", ".join(shown) if shown else "none"
    if any(not h.isprintable() or "\ufffd" in h for h in headers):
        found = "none readable (the first line holds binary bytes)"
    lowered = {h.strip().lower() for h in headers}
    separator = next(
        (
            sep
            for sep in (";", "\t", "|")
            if any(part.strip().lower() in known for h in headers if sep in h for part in h.split(sep))
        ),
        None,
    )
    if separator is not None:
        hint = f"The header looks separated by {separator!r}, not commas; export it comma-separated."
    elif not lowered & set(known):
        hint = (
            "The file does not look like a CSV with a header row: its first line names none of "
            f"the expected columns ({', '.join(known)})."
        )
    else:
        hint = (
            "Add the column to the export (names are matched case-insensitively, "
            "ignoring surrounding spaces)."
        )
    return InputError(
        f"required column {column if quoted else repr(column)} is missing; columns found: {found}.",
        file=str(path),
        column=column,
        hint=hint,
    )


def _attribute_names(
    headers: list[str], used: set[int], path: Path, warnings: list[str], kind: str
) -> list[tuple[int, str]]:
    """Extra columns as (position, trimmed name); unnamed ones are column_N, repeated names get #2, #3."""
    positions = [p for p in range(len(headers)) if p not in used]
    wanted = [headers[p].strip() or f"column_{p + 1}" for p in positions]
    names = unique_names(wanted)
    if KINDS[kind].keeps_extra_columns:
        for position, name, unique in zip(positions, wanted, names):
            if unique != name:
                warnings.append(
                    f"column {name!r} appears more than once; attributes keep the copy "
                    f"in column {position + 1} as {unique!r}"
                )
    return list(zip(positions, names))


def canonical_text(
    table: RawTable,
    positions: dict[str, int],
    extras: list[tuple[int, str]],
    kind: str,
    *,
    first_row: int = 1,
) -> pl.DataFrame:
    """One String column per canonical column (null when the file lacks it), plus row_number.

    Rows are numbered from first_row: the position in the file of the table's first record.
    """
    spec = KINDS[kind]
    columns = [pl.int_range(first_row, pl.len() + first_row, dtype=pl.Int64).alias("row_number")]
    for name in spec.required + spec.optional:
        if name in positions:
            columns.append(pl.col(f"h{positions[name]}").alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
    if spec.keeps_extra_columns:
        columns.append(_attributes_json(extras))
    return table.frame.select(columns)


def _attributes_json(extras: list[tuple[int, str]]) -> pl.Expr:
    """The extra columns of a contact as a JSON object, in header order; empty cells are ""."""
    if not extras:
        return pl.lit("{}").alias("attributes")
    fields = [pl.col(f"h{position}").fill_null("").alias(name) for position, name in extras]
    return pl.struct(fields).struct.json_encode().alias("attributes")
