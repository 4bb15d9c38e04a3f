"""The explanation of one address in words, for a terminal: records, lists, blocked attempts, consent, timeline."""

from __future__ import annotations

from listhygiene.text_table import table


def as_text(answer: dict) -> str:
    """The explanation as plain text: one section each for records, lists, blocked attempts, timeline."""
    lines = [_heading(answer)]
    if answer.get("forgotten"):
        erased = answer["forgotten"]
        note = f" (note: {erased['note']})" if erased.get("note") else ""
        lines.append(
            f"erased on request at {erased['forgotten_at']}{note}: listhygiene keeps only its keyed hash, "
            f"as {erased['pseudonym']}; what follows is what is kept under it."
        )
    if not answer["known"]:
        lines.append(
            f"listhygiene holds no contact record and no event for {answer['email']} as of "
            "this run: it is on no list, and nothing suppresses it."
        )
    if answer["records"]:
        lines += ["", "Contact records", *_indent(_records_table(answer["records"]))]
    lines += ["", "Lists"] + [line for entry in answer["lists"] for line in _list_lines(entry)]
    if answer.get("quarantined"):
        lines += [
            "",
            "Quarantined rows (not loaded; a contacts row holds its record's last good row, marked held)",
            *_indent(
                table(
                    ["where", "column", "why"],
                    [[q["lineage"], q["column"] or "-", q["error"]] for q in answer["quarantined"]],
                )
            ),
        ]
    if answer["blocked_resubscribes"]:
        lines += [
            "",
            "Blocked resubscribes (changed nothing)",
            *_indent(
                table(
                    ["when", "list", "where", "why"],
                    [
                        [short_time(b["attempted_at"]), b["list_id"] or "all lists", b["source"], b["why"]]
                        for b in answer["blocked_resubscribes"]
                    ],
                )
            ),
        ]
    if answer.get("consent_ledger"):
        lines += [
            "",
            "Consent ledger (grants and withdrawals, oldest first)",
            *_indent(
                table(
                    ["when", "effect", "kind", "list", "evidence", "where"],
                    [
                        [
                            short_time(c["at"]),
                            c["effect"],
                            c["kind"],
                            c["list_id"] or "all lists",
                            " ".join(e for e in (c["evidence"], c["evidence_ref"]) if e) or "-",
                            c["lineage"],
                        ]
                        for c in answer["consent_ledger"]
                    ],
                )
            ),
        ]
    if answer["timeline"]:
        lines += [
            "",
            f"Timeline ({len(answer['timeline'])} entries, oldest first)",
            *_indent(_timeline_table(answer["timeline"])),
        ]
    lines += [f"note: {w}" for w in answer["warnings"]]
    return "\n".join(lines)


def _heading(answer: dict) -> str:
    asked = answer["query"].strip()
    validity = "a valid address" if answer["valid"] else "NOT a valid address"
    said = f' (you asked for "{asked}")' if asked != answer["email"] else ""
    run = answer["run"]
    return (
        f"{answer['email']}{said}: {validity}\nas of run {run['run_id']} (as of {short_time(run['as_of'])})"
    )


def _records_table(records: list[dict]) -> list[str]:
    return table(
        [
            "source",
            "contact_id",
            "list",
            "status",
            "confirmed",
            "do_not_contact",
            "in latest export",
            "used for list",
            "exported as",
            "last seen in",
        ],
        [
            [
                r["source"],
                r["contact_id"],
                r["list_id"] or "no list",
                r["status_raw"] or r["status"],
                short_time(r["confirmed_at"]),
                "yes" if r["do_not_contact"] else "no",
                ("held" if r.get("held") else "yes") if r["in_latest_export"] else "no",
                "yes" if r["speaks_for_list"] else "no",
                r["email_raw"],
                r["lineage"],
            ]
            for r in records
        ],
    )


def _list_lines(entry: dict) -> list[str]:
    name = entry["list_id"] or "the address as a whole (on no list)"
    record = f" (record {entry['contact_id']})" if entry["contact_id"] else ""
    if entry["sendable"]:
        verdict = "SENDABLE for marketing"
    elif entry["list_id"] and not entry["member"]:
        verdict = "not sendable for marketing: not a member of this list"
    else:
        verdict = "NOT sendable for marketing"
    transactional = "allowed" if entry["transactional_ok"] else "NOT allowed"
    lines = [f"  {name}: {verdict}{record}; transactional mail: {transactional}"]
    for i, r in enumerate(entry["reasons"], start=1):
        scope = "the whole address" if r["scope"] == "address" else "this list"
        lines.append(f"    {i}. {r['reason']} (for {scope}) since {short_time(r['since'])}")
        causes = r["causes"] or [{"detail": r["detail"]}]
        lines.extend(f"       because: {cause['detail']}" for cause in causes)
        lines.append(f"       lifted by: {r['lifted_by']}")
    if (
        not entry["reasons"]
        and not entry["sendable"]
        and entry["member"] is False
        and entry["list_id"] is None
    ):
        lines.append("    no reason is active; it is on no list, so no marketing list sends to it")
    return lines


def _timeline_table(timeline: list[dict]) -> list[str]:
    return table(
        ["time", "kind", "scope", "origin", "campaign", "bounce", "evidence", "where", "what"],
        [
            [
                short_time(e["at"]),
                e["kind"],
                e["scope"],
                e["origin"],
                e["campaign_id"] or "",
                _bounce_words(e),
                e["evidence"] or "",
                e["lineage"],
                _what(e),
            ]
            for e in timeline
        ],
    )


def _bounce_words(event: dict) -> str:
    if event["kind"] != "bounce":
        return ""
    codes = " ".join(str(c) for c in (event["smtp_code"], event["enhanced_code"]) if c)
    why = event["bounce_reason"] or event["bounce_rule"]
    return " ".join(
        p for p in (event["bounce_class"] or "unclassified", codes, f"({why})" if why else "") if p
    )


def _what(event: dict) -> str:
    if event["kind"] in ("export", "suppression_list"):  # the detail without its lineage
        return event["detail"].rsplit(" (", 1)[0]
    parts = [
        event["diagnostic"] and f'"{event["diagnostic"]}"',
        event["evidence_ref"],
        event["note"],
        _platform_words(event["platform"]),
    ]
    return "; ".join(p for p in parts if p)


def _platform_words(platform: dict | None) -> str | None:
    """The platform's own record, as its support desk would ask for it: type and message id."""
    if not platform:
        return None
    words = [
        platform.get("platform"),
        platform.get("raw_type"),
        platform.get("message_id") and f"message {platform['message_id']}",
    ]
    return " ".join(str(w) for w in words if w) or None


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def short_time(text: str | None) -> str:
    """'2026-11-20T14:05:00Z' -> '2026-11-20T14:05Z' (seconds only when they are not zero)."""
    if not text:
        return "-"
    return text[:-4] + "Z" if text.endswith(":00Z") else text
