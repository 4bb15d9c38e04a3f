"""The report's sections, each a chart and the table of its numbers, from the gathered ReportData."""

from __future__ import annotations

from html import escape

import polars as pl

from listhygiene.outputs.report import charts
from listhygiene.outputs.report.gather import OUTCOMES, SHOWN_ROWS, ReportData
from listhygiene.outputs.report.page import count, figure, frame_table, moment, percent, plain, section, table
from listhygiene.rules.reasons import PRECEDENCE
from listhygiene.thresholds import THRESHOLDS


def _labels(data: ReportData) -> list[str]:
    """Each run of the history by its as-of (a date, with the time when two runs share a day)."""
    days = [r.as_of[:10] for r in data.history]
    return [
        r.as_of[:16].replace("T", " ") if days.count(r.as_of[:10]) > 1 else r.as_of[:10] for r in data.history
    ]


def _by_precedence(names) -> list[str]:
    return sorted(set(names), key=lambda n: (PRECEDENCE.get(n, len(PRECEDENCE)), n))


def header(data: ReportData) -> str:
    run = data.run
    tonight = data.history[-1]
    cards = []
    for list_id, c in tonight.lists.items():
        shown = ""
        if c.get("previous") is not None:
            change = c["sendable"] - c["previous"]
            shown = f' <span class="{"down" if change < 0 else "up"}">{change:+,}</span>'
        cards.append(f'<div class="card">{escape(list_id)}<b>{c["sendable"]:,}{shown}</b>sendable</div>')
    crossed = data.rates.filter(pl.col("thresholds_crossed").list.len() > 0)
    if crossed.height:
        names = ", ".join(tonight.thresholds_crossed or [])
        examples = 5
        where = "; ".join(
            f"{plain(c)} at {d}: {plain(t)}"
            for c, d, t in crossed.select("campaign_id", "domain", "thresholds_crossed").head(examples).rows()
        )
        more = f"; and {crossed.height - examples:,} more" if crossed.height > examples else ""
        campaigns = int(data.by_campaign["thresholds_crossed"].list.len().gt(0).sum())
        banner = (
            f'<div class="banner" data-crossed="{crossed.height}"><span class="crossing">Sender thresholds '
            f"crossed: {escape(names)}</span><br>{crossed.height:,} (campaign, receiver domain) rows "
            f"of {data.rates.height:,}, {campaigns:,} campaign{'' if campaigns == 1 else 's'} as a whole: "
            f"{escape(where)}{more} "
            '(<a href="#rates">rates</a>).</div>'
        )
    else:
        banner = (
            '<div class="banner calm" data-crossed="0">No rate crosses a sender threshold '
            f"(rates over at least {data.settings.min_messages:,} messages are judged).</div>"
        )
    evaluation = run.get("evaluation", {})
    return (
        f"<header><h1>List hygiene run report</h1>"
        f'<p class="meta">run <code>{escape(run["run_id"])}</code> · as of {escape(moment(run["as_of"]))}'
        f" · {escape(evaluation.get('mode', 'full'))} evaluation · listhygiene {escape(run.get('version', ''))}"
        f"{' · published with --force' if run.get('forced') else ''}</p>"
        f'<div class="cards">{"".join(cards)}</div>{banner}</header>'
    )


def list_health(data: ReportData) -> str:
    labels = _labels(data)
    lists = sorted({list_id for r in data.history for list_id in r.lists})
    series = {
        list_id: [r.lists[list_id]["sendable"] if list_id in r.lists else None for r in data.history]
        for list_id in lists
    }
    chart = charts.line_chart("sendable", "Sendable addresses per list over the runs", labels, series)
    rows = [[label, *[s[i] for s in series.values()]] for i, label in enumerate(labels)]
    numbers = table("sendable", ["run", *lists], rows, [plain] + [count] * len(lists))
    tonight = data.history[-1].lists
    change_rows = [
        [
            list_id,
            c.get("previous"),
            c["sendable"],
            None if c.get("previous") is None else c["sendable"] - c["previous"],
            c.get("vanished", 0),
        ]
        for list_id, c in tonight.items()
    ]
    signed = lambda v: "-" if v is None else f"{v:+,}"  # noqa: E731
    changes = table(
        "change",
        ["list", "previous run", "tonight", "change", "vanished"],
        change_rows,
        [plain, count, count, signed, count],
    )
    return section(
        "lists",
        "List health",
        figure(chart + charts.legend(lists), numbers),
        "<h3>Tonight's change</h3>",
        changes,
    )


def vanished(data: ReportData) -> str:
    labels = _labels(data)
    per_run = [
        {
            reason: sum(c.get("vanished_by_reason", {}).get(reason, 0) for c in r.lists.values())
            for reason in {k for c in r.lists.values() for k in c.get("vanished_by_reason", {})}
        }
        for r in data.history
    ]
    reasons = _by_precedence(k for run in per_run for k in run)
    series = {reason: [run.get(reason, 0) for run in per_run] for reason in reasons}
    chart = charts.stacked_bars("vanished", "Vanished per run, by reason", labels, series)
    rows = [[label, *[s[i] for s in series.values()]] for i, label in enumerate(labels)]
    numbers = table("vanished_by_reason", ["run", *reasons], rows, [plain] + [count] * len(reasons))
    shown = frame_table(
        "vanished",
        data.vanished,
        {"list_id": plain, "email": plain, "reason": plain, "reason_at": moment, "detail": plain},
        {"list_id": "list", "reason_at": "since"},
        caption=_more(data.vanished.height, data.vanished_total, "vanished.parquet"),
    )
    return section(
        "vanished",
        "Why contacts left",
        figure(chart + charts.legend(reasons), numbers, wide=True),
        f"<h3>Vanished tonight ({data.vanished_total:,})</h3>",
        shown,
    )


def suppressions(data: ReportData) -> str:
    labels = _labels(data)
    reasons = _by_precedence(k for r in data.history for k in r.suppressions_by_reason)
    series = {reason: [r.suppressions_by_reason.get(reason, 0) for r in data.history] for reason in reasons}
    chart = charts.stacked_bars("suppressions", "Active suppressions per run, by reason", labels, series)
    rows = [
        [label, *[s[i] for s in series.values()], data.history[i].blocked_resubscribes]
        for i, label in enumerate(labels)
    ]
    numbers = table(
        "suppressions_by_reason",
        ["run", *reasons, "blocked resubscribes"],
        rows,
        [plain] + [count] * (len(reasons) + 1),
    )
    blocked = frame_table(
        "blocked_resubscribes",
        data.blocked,
        {"email": plain, "list_id": plain, "attempted_at": moment, "source": plain, "why": plain},
        {"list_id": "list", "attempted_at": "attempted"},
        caption=_more(data.blocked.height, data.blocked_total, "blocked_resubscribes.parquet"),
    )
    guard = table(
        "drop_guard",
        ["list", "previous run", "tonight", "drop", "verdict"],
        [[g["list_id"], g["previous"], g["sendable"], g["drop"], g["verdict"]] for g in data.drop_guard],
        [plain, count, count, percent, plain],
        crossed=[g["verdict"].startswith("over") for g in data.drop_guard],
    )
    return section(
        "suppressions",
        "Suppressions, blocked resubscribes, the drop guard",
        figure(chart + charts.legend(reasons), numbers, wide=True),
        f"<h3>Blocked resubscribes tonight ({data.blocked_total:,})</h3>",
        '<p class="note">Attempts to put back an address that opted out, without the consent that lifts it.</p>',
        blocked,
        "<h3>Drop guard</h3>",
        guard,
    )


def receivers(data: ReportData) -> str:
    domains = data.by_domain
    names = [plain(d) for d in domains["domain"]]
    series = {outcome: domains[outcome].to_list() for outcome in OUTCOMES}
    chart = charts.stacked_bars("outcomes", "Delivery outcomes by receiver domain", names, series)
    numbers = frame_table(
        "outcomes",
        domains,
        {"domain": plain, **dict.fromkeys(OUTCOMES, count), "block_rate": percent},
    )
    return section(
        "receivers",
        "Bounce outcomes by receiver",
        figure(chart + charts.legend(OUTCOMES), numbers),
        '<p class="note">block: the receiver refused the sender (reputation, blocklist, authentication, '
        "rate), never counted against the recipient.</p>",
    )


RATE_FORMATS = {
    "messages": count,
    "deliveries": count,
    "hard": count,
    "complaints": count,
    "unsubscribes": count,
    "hard_rate": percent,
    "complaint_rate": percent,
    "unsubscribe_rate": percent,
    "thresholds_crossed": plain,
}


def rates(data: ReportData) -> str:
    settings = data.settings
    campaigns = data.by_campaign
    names = [plain(c) if c is not None else "(none)" for c in campaigns["campaign_id"]]
    crossed = [len(t) > 0 for t in campaigns["thresholds_crossed"]]
    parts = []
    for metric, title in (("complaint_rate", "Complaint rate"), ("hard_rate", "Hard-bounce rate")):
        lines = [(t.name, t.name, settings.value(t)) for t in THRESHOLDS if t.metric == metric]
        of_metric = [t.name for t in THRESHOLDS if t.metric == metric]
        over = campaigns["thresholds_crossed"].list.eval(pl.element().is_in(of_metric)).list.any().to_list()
        chart = charts.rate_bars(
            metric, f"{title} per campaign", names, campaigns[metric].to_list(), over, lines
        )
        parts.append(f"<h3>{title} per campaign</h3>{chart}")
    shown = campaigns.head(SHOWN_ROWS * 2)
    per_campaign = frame_table(
        "rates_by_campaign",
        shown.with_columns(pl.col("campaign_id").fill_null("(none)")),
        {"campaign_id": plain, **RATE_FORMATS},
        {"campaign_id": "campaign"},
        crossed=crossed[: shown.height],
        caption=_more(shown.height, campaigns.height, "rates.parquet (summed per campaign)"),
    )
    per_domain = frame_table(
        "rates_by_domain",
        data.by_domain,
        {"domain": plain, **RATE_FORMATS},
        crossed=[len(t) > 0 for t in data.by_domain["thresholds_crossed"]],
    )
    full = data.rates.head(SHOWN_ROWS * 2)
    detail = frame_table(
        "rates",
        full.with_columns(pl.col("campaign_id").fill_null("(none)")),
        {"campaign_id": plain, "domain": plain, **RATE_FORMATS},
        {"campaign_id": "campaign"},
        crossed=[len(t) > 0 for t in full["thresholds_crossed"]],
        caption=_more(full.height, data.rates.height, "rates.parquet"),
    )
    thresholds = table(
        "thresholds",
        ["threshold", "rate", "at", "meaning"],
        [[t.name, t.metric, settings.value(t), t.meaning] for t in THRESHOLDS],
        [plain, plain, percent, plain],
    )
    return section(
        "rates",
        "Rates against sender thresholds",
        '<p class="note">Hard, soft and block rates are over the messages the logs account for '
        "(deliveries and bounces); complaint and unsubscribe rates over deliveries. A rate over fewer than "
        f"{settings.min_messages:,} messages is shown, not judged ([report] min_messages).</p>",
        f'<div class="figure even"><div>{parts[0]}</div><div>{parts[1]}</div></div>',
        "<h3>Per campaign</h3>",
        per_campaign,
        "<h3>Per receiver domain</h3>",
        per_domain,
        "<h3>Per campaign and receiver domain (rates.parquet)</h3>",
        detail,
        "<h3>Thresholds ([report])</h3>",
        thresholds,
    )


def quarantine(data: ReportData) -> str:
    files = frame_table(
        "quarantine_by_file",
        data.quarantine,
        {"source": plain, "file": plain, "rows_read": count, "rows_loaded": count, "rows_quarantined": count},
        {"rows_read": "rows read", "rows_loaded": "loaded", "rows_quarantined": "quarantined"},
        crossed=[n > 0 for n in data.quarantine["rows_quarantined"]],
    )
    errors = frame_table(
        "quarantine_errors",
        data.quarantine_errors,
        {"source": plain, "file": plain, "error": plain, "rows": count, "first_row": count},
        {"first_row": "first row"},
    )
    return section(
        "quarantine", "Quarantine per input file", files, "<h3>Quarantined rows by problem</h3>", errors
    )


def stages(data: ReportData) -> str:
    if not data.stages:
        return section("stages", "Time per stage", '<p class="note">This run recorded no stage times.</p>')
    names = list(data.stages)
    seconds = [round(float(s), 3) for s in data.stages.values()]
    rows = [[n, s] for n, s in zip(names, seconds, strict=True)]
    total = sum(seconds)
    seconds_text = lambda v: f"{v:,.2f} s"  # noqa: E731
    numbers = table("stages", ["stage", "seconds"], [*rows, ["total", total]], [plain, seconds_text])
    return section("stages", "Time per stage", numbers)


def _more(shown: int, total: int, output: str) -> str:
    return f"the first {shown:,} of {total:,}; every row is in {output}" if total > shown else ""
