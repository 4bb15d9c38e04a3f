"""The classifier on replies it was not written from: a tuning part and a held-aside part of tests/data/bounce_corpus, and the issue's examples."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import polars as pl
import pytest

from listhygiene.ingest.reading import read_input
from listhygiene.rules.bounces import classify_frame, load_ruleset

CORPUS = Path(__file__).parent / "data" / "bounce_corpus"
PARTS = ("tuning", "held_aside")


def classified(part: str, tmp: Path) -> pl.DataFrame:
    """The part's rows as an ESP bounce log, read through the real input path and classified."""
    with (CORPUS / f"{part}.csv").open(encoding="utf-8", newline="") as f:
        corpus = list(csv.DictReader(f))
    log = tmp / f"{part}.csv"
    with log.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["email", "occurred_at", "smtp_code", "enhanced_code", "diagnostic"])
        for i, row in enumerate(corpus, start=1):
            out.writerow(
                [
                    f"r{i}@example.test",
                    "2026-01-01T00:00:00Z",
                    row["smtp_code"],
                    row["enhanced_code"],
                    row["diagnostic"],
                ]
            )
    read = read_input(log, source=part, kind="bounces")
    assert read.quarantine.height == 0 and read.rows.height == len(corpus)
    expected = pl.DataFrame(
        {
            "row_number": list(range(1, len(corpus) + 1)),
            "family": [r["family"] for r in corpus],
            "expected": [r["expected"] for r in corpus],
        },
        schema={"row_number": pl.Int64, "family": pl.String, "expected": pl.String},
    )
    return classify_frame(read.rows, load_ruleset()).join(expected, on="row_number")


def figures(verdicts: pl.DataFrame) -> dict[str, float]:
    """Hard recall, false hard (hard given to a soft or block reply), class agreement, soft
    recall; `unknown` for a clear soft reply counts as a miss."""
    hard = verdicts.filter(pl.col("expected") == "hard")
    other = verdicts.filter(pl.col("expected") != "hard")
    soft = verdicts.filter(pl.col("expected") == "soft")
    return {
        "rows": verdicts.height,
        "hard_recall": (hard["bounce_class"] == "hard").mean(),
        "false_hard": (other["bounce_class"] == "hard").mean(),
        "soft_recall": (soft["bounce_class"] == "soft").mean(),
        "class_agreement": (verdicts["bounce_class"] == verdicts["expected"]).mean(),
    }


# What each part measured, as floors (and a ceiling for false hards), so a change that makes the
# rules read either part worse fails here. The tuning part (every part held aside before, the
# tenth, real replies of Sisimai's sample messages, tuned on under 2026.12.11) reads 623 / 626
# hard, 1 / 1494 false hard (a Chinese host's "554 mail address invalid.", the sender's address
# by its page's account), 2116 / 2120 agreeing. The held-aside part is part 11, six real
# replies from other projects' fixtures (the public sources no part had read were exhausted),
# measured once under 2026.12.11: 3 / 3 hard, 1 / 3 false hard (Amazon SES's own suppression
# list under 5.1.1), 5 / 6 agreeing. The corpus README has the figures and the history of the
# parts.
TARGETS = {
    "tuning": {"hard_recall": 0.9952, "false_hard": 0.0007, "class_agreement": 0.9981},
    "held_aside": {"hard_recall": 1.0, "false_hard": 0.3334, "class_agreement": 0.8333},
}


@pytest.fixture(scope="module", params=PARTS)
def part(request, tmp_path_factory) -> tuple[str, pl.DataFrame]:
    return request.param, classified(request.param, tmp_path_factory.mktemp(request.param))


def test_the_classifier_meets_the_targets_on_each_part(part):
    name, verdicts = part
    if verdicts.height == 0:
        pytest.skip(f"the {name} part has no rows")
    result, target = figures(verdicts), TARGETS[name]
    misses = verdicts.filter(pl.col("bounce_class") != pl.col("expected")).select(
        "family", "expected", "bounce_class", "bounce_rule", "diagnostic"
    )
    assert result["hard_recall"] >= target["hard_recall"], (name, result, misses)
    assert result["false_hard"] <= target["false_hard"], (name, result, misses)
    assert result["class_agreement"] >= target["class_agreement"], (name, result, misses)


# The replies issue 23 names, each as the receiver wrote it (codes only where it gave them).
ISSUE_EXAMPLES = [
    ("", "", "Invalid final delivery userid: someone@example.com", "hard", "user_unknown"),
    (
        "",
        "",
        "someone@example.com Does not have a final email delivery point, please contact this person by alternate means.",
        "hard",
        "user_unknown",
    ),
    ("550", "", "550 L'adresse <someone@example.com> n'existe pas", "hard", "user_unknown"),
    ("", "", "recipient is over disk quota", "soft", "mailbox_full"),
    (
        "",
        "",
        "The e-mail message could not be delivered because the user's mailfolder is full.",
        "soft",
        "mailbox_full",
    ),
    ("552", "", "552 Quota violation for someone@example.com", "soft", "mailbox_full"),
    (
        "",
        "",
        "This message has not yet been delivered to all recipients. Delivery attempts will continue to be made for 5 day(s).",
        "soft",
        "delayed",
    ),
    ("", "", "Message will be retried for 2 more day(s)", "soft", "delayed"),
    (
        "",
        "",
        "Name service error for name=example.com type=MX: Host not found, try again",
        "soft",
        "temporary_failure",
    ),
]


@pytest.mark.parametrize(
    ("smtp_code", "enhanced_code", "diagnostic", "bounce_class", "reason"), ISSUE_EXAMPLES
)
def test_the_issue_s_examples_are_classified_right(
    tmp_path, smtp_code, enhanced_code, diagnostic, bounce_class, reason
):
    log = tmp_path / "b.csv"
    with log.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(
            [
                ["email", "occurred_at", "smtp_code", "enhanced_code", "diagnostic"],
                ["x@example.test", "2026-01-01T00:00:00Z", smtp_code, enhanced_code, diagnostic],
            ]
        )
    [row] = classify_frame(read_input(log, source="t", kind="bounces").rows, load_ruleset()).to_dicts()
    assert (row["bounce_class"], row["bounce_reason"]) == (bounce_class, reason), row["bounce_rule"]


def test_a_delay_notice_is_never_hard_whatever_it_quotes(tmp_path):
    """A delay warning quoting a 5.1.1 or 'user unknown' is still a delay (the MTA retries)."""
    ruleset = load_ruleset()
    rows = pl.DataFrame(
        {
            "row_number": [1, 2],
            "event": ["bounce", "bounce"],
            "smtp_code": [550, None],
            "enhanced_code": ["5.1.1", "4.4.7"],
            "bounce_type": [None, "hard"],
            "diagnostic": [
                "Warning: could not send message for past 4 hours; 550 5.1.1 user unknown",
                "Delivery is delayed to these recipients. No such user here yet.",
            ],
        },
        schema_overrides={"smtp_code": pl.Int32, "bounce_type": pl.String},
    )
    got = classify_frame(rows, ruleset)
    assert got["bounce_class"].to_list() == ["soft", "soft"]
    assert set(got["bounce_rule"]) == {"delay-notice"}


def corpus_specific_tokens() -> set[str]:
    """Hosts, domains and ids of the corpus: strings a general rule has no business naming."""
    text = " ".join((CORPUS / f"{p}.csv").read_text("utf-8").lower() for p in PARTS)
    hosts = set(re.findall(r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}", text))
    ids = set(re.findall(r"\b(?=[a-z0-9_#-]*[0-9])(?=[a-z0-9_#-]*[a-z])[a-z0-9_#-]{4,}\b", text))
    return {t for t in hosts | ids if not re.fullmatch(r"[0-9.]+", t)}


def test_no_rule_names_a_host_or_id_of_the_corpus():
    patterns = " ".join(
        filter(
            None,
            (getattr(r, k) for r in load_ruleset().rules for k in ("text", "enhanced_code", "smtp_code")),
        )
    ).lower()
    assert sorted(t for t in corpus_specific_tokens() if t in patterns) == []


if __name__ == "__main__":  # .venv/bin/python tests/test_bounces_generalize.py [--misses] [--sources a,b]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for part in PARTS:
            verdicts = classified(part, Path(tmp))
            if verdicts.height == 0:  # a part between two held-aside parts: nothing to measure
                print(part, f"no {part.replace('_', '-')} rows")
                continue
            print(part, {k: round(v, 4) if isinstance(v, float) else v for k, v in figures(verdicts).items()})
            if "--sources" in sys.argv:  # the figures of the part's rows from these sources only
                sources = sys.argv[sys.argv.index("--sources") + 1].split(",")
                with (CORPUS / f"{part}.csv").open(encoding="utf-8", newline="") as f:
                    of_source = [r["source"] in sources for r in csv.DictReader(f)]
                subset = verdicts.sort("row_number").filter(pl.Series(of_source))
                if subset.height:
                    print(f"  {part}, {len(sources)} sources", figures(subset))
            if "--misses" in sys.argv:
                with pl.Config(fmt_str_lengths=160, tbl_rows=200, tbl_width_chars=250):
                    print(
                        verdicts.filter(pl.col("bounce_class") != pl.col("expected")).select(
                            "family", "expected", "bounce_class", "bounce_rule", "diagnostic"
                        )
                    )
