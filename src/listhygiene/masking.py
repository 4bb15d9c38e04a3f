"""Addresses masked for logs, errors and reports: never a whole address of the data."""

from __future__ import annotations

import re

import polars as pl

_AT_DOMAIN = r"@[^@]*$"


def mask_email(address: str | None) -> str:
    """Mask an address for logs: 'jane.doe@example.com' -> 'j***@example.com'.

    Keeps the first character of the local part (split at the last '@') and the whole domain;
    without '@' keeps the first character only; None or '' gives '<empty>'.
    """
    if not address:
        return "<empty>"
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + "***"
    return local[:1] + "***@" + domain


def mask_email_expr(expr: pl.Expr) -> pl.Expr:
    """The masking of `mask_email` as a polars expression (null or '' gives '<empty>')."""
    at_domain = expr.str.extract(_AT_DOMAIN, 0)
    local = expr.str.strip_suffix(at_domain)
    return (
        pl.when(expr.is_null() | (expr == ""))
        .then(pl.lit("<empty>"))
        .when(at_domain.is_null())
        .then(pl.concat_str(expr.str.slice(0, 1), pl.lit("***")))
        .otherwise(pl.concat_str(local.str.slice(0, 1), pl.lit("***"), at_domain))
    )


_ADDRESS_LIKE = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")


def mask_addresses_in(text: str) -> str:
    """Messages quote values as read; never let one print a whole address of the data."""
    return _ADDRESS_LIKE.sub(lambda m: mask_email(m.group()), text)
