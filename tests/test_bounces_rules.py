"""Bounce rules as data: a pipeline's rules file, its checks, and reclassification of the store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from listhygiene.config import load_config
from listhygiene.errors import ConfigError
from listhygiene.rules.bounces import classify_frame, load_ruleset, reclassify_if_rules_changed

from scenario import Scenario

A = "a@example.com"
FULL = "552 5.2.2 Mailbox full"
SCHEMA = {
    "row_number": pl.Int64,
    "email_raw": pl.String,
    "event": pl.String,
    "bounce_type": pl.String,
    "smtp_code": pl.Int32,
    "enhanced_code": pl.String,
    "diagnostic": pl.String,
}


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def rule_of(diagnostic: str, rules: Path | None) -> tuple[str, str, str]:
    frame = pl.DataFrame(
        [{"row_number": 1, "email_raw": A, "event": "bounce", "diagnostic": diagnostic}],
        schema=SCHEMA,
        orient="row",
    )
    row = classify_frame(frame, load_ruleset(rules)).row(0, named=True)
    return row["bounce_class"], row["bounce_reason"], row["bounce_rule"]


# --- a pipeline's own rules --------------------------------------------------------------------


def test_a_new_rule_goes_before_the_package_rules(tmp_path):
    path = rules_file(
        tmp_path,
        """
[[rules]]
id = "acme-gateway-quarantine"
class = "block"
reason = "spam_content"
text = 'held for review by acme gateway'
""",
    )
    assert rule_of("550 5.1.1 held for review by ACME gateway", path) == (
        "block",
        "spam_content",
        "acme-gateway-quarantine",
    )
    assert rule_of("550 5.1.1 user unknown", path) == ("hard", "user_unknown", "user-unknown")


def test_a_rule_with_a_package_id_replaces_it_in_place(tmp_path):
    path = rules_file(
        tmp_path,
        """
[[rules]]
id = "relay-denied"
class = "block"
reason = "policy"
text = 'relay access denied'
""",
    )
    ids = [r.id for r in load_ruleset(path).rules]
    assert ids == [r.id for r in load_ruleset().rules]
    assert rule_of("554 5.7.1 Relay access denied", path) == ("block", "policy", "relay-denied")


def test_a_rule_can_be_disabled_or_placed_before_a_named_rule(tmp_path):
    path = rules_file(
        tmp_path,
        """
[[rules]]
id = "mailbox-suspended"
disabled = true

[[rules]]
id = "disabled-is-gone-here"
before = "code-disabled"
class = "hard"
reason = "user_unknown"
text = 'account is disabled'
""",
    )
    ids = [r.id for r in load_ruleset(path).rules]
    assert "mailbox-suspended" not in ids
    assert ids.index("disabled-is-gone-here") == ids.index("code-disabled") - 1
    assert rule_of("550 5.2.1 The account is disabled", path)[2] == "disabled-is-gone-here"


def test_package_rules_can_be_left_out(tmp_path):
    path = rules_file(
        tmp_path,
        """
package_rules = false
[[rules]]
id = "everything-soft"
class = "soft"
reason = "unclassified"
""",
    )
    ruleset = load_ruleset(path)
    assert [r.id for r in ruleset.rules] == ["everything-soft"]
    assert ruleset.version == "my_rules.toml"


def test_without_a_catch_all_an_unmatched_bounce_is_unknown(tmp_path):
    path = rules_file(
        tmp_path,
        """
package_rules = false
[[rules]]
id = "only-full"
class = "soft"
reason = "mailbox_full"
text = 'mailbox full'
""",
    )
    assert rule_of("550 who knows", path) == ("unknown", "unclassified", None)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'user_unknown'\ntext = '(?<=a)b'\n",
            "'x' (my_rules.toml): text is not a valid RE2 regular expression",
        ),
        (
            "[[rules]]\nid = 'x'\nclass = 'permanent'\nreason = 'user_unknown'\n",
            "class must be one of hard, soft, block, unknown, got 'permanent'",
        ),
        (
            "[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'User Unknown'\n",
            "reason is required, in lower_snake_case",
        ),
        ("[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'user_unknown'\ntxt = 'a'\n", "unknown key 'txt'"),
        ("[[rules]]\nclass = 'hard'\nreason = 'user_unknown'\n", "id is required"),
        (
            "[[rules]]\nid = 'no-such-rule'\ndisabled = true\n",
            "disables 'no-such-rule', which is not a package rule",
        ),
        (
            "[[rules]]\nid = 'x'\nbefore = 'nowhere'\nclass = 'hard'\nreason = 'user_unknown'\n",
            "before = 'nowhere' names no package rule",
        ),
        (
            "[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'a'\n[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'b'\n",
            "rule id 'x' is used twice",
        ),
        (
            "[[rules]]\nid = 'x'\nclass = 'hard'\nreason = 'a'\ntext = ''\n",
            "text must be a non-empty regular expression",
        ),
        ("rules = 'x'\n", "rules must be an array of tables"),
        ("verison = 2\n", "unknown key 'verison'"),
        ("[[rules]\n", "is not valid TOML"),
    ],
)
def test_a_bad_rules_file_is_refused_with_the_rule_and_the_problem(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_ruleset(rules_file(tmp_path, text))
    assert message in str(caught.value)


def test_pipeline_file_names_its_rules_relative_to_itself(tmp_path):
    rules_file(tmp_path, "[[rules]]\nid = 'x'\nclass = 'soft'\nreason = 'mailbox_full'\ntext = 'full'\n")
    pipeline = tmp_path / "p.toml"
    base = (
        '[store]\ndatabase = "s.duckdb"\noutput = "out"\n'
        '[[sources]]\nname = "crm"\nkind = "contacts"\npath = "c.csv"\n'
    )
    pipeline.write_text(base + '[bounces]\nrules = "my_rules.toml"\n')
    assert load_config(pipeline).bounce_rules == (tmp_path / "my_rules.toml").resolve()
    pipeline.write_text(base + '[bounces]\nrules = "missing.toml"\n')
    with pytest.raises(ConfigError, match=r"\[bounces\]: rules file .*missing.toml does not exist"):
        load_config(pipeline)
    pipeline.write_text(base + '[bounces]\nrule = "my_rules.toml"\n')
    with pytest.raises(ConfigError, match="unknown key 'rule'"):
        load_config(pipeline)


def test_the_digest_follows_the_rules_not_the_file(tmp_path):
    same = rules_file(tmp_path, "# only a comment\n")
    changed = tmp_path / "other.toml"
    changed.write_text("[[rules]]\nid = 'x'\nclass = 'soft'\nreason = 'mailbox_full'\ntext = 'full'\n")
    assert load_ruleset(same).digest == load_ruleset().digest
    assert load_ruleset(changed).digest != load_ruleset().digest


# --- the store follows the rules ---------------------------------------------------------------


def stored(s: Scenario) -> list[tuple]:
    return s.con.execute(
        "select row_number, bounce_class, bounce_reason, bounce_rule from bounce_events order by row_number"
    ).fetchall()


def member_with_bounces(*diagnostics: str) -> Scenario:
    s = Scenario(soft_bounce_limit=2).export(
        "2026-11-01", {"contact_id": "C1", "email": A, "list_id": "news"}
    )
    return s.bounces(
        *(
            {"email": A, "occurred_at": f"2026-11-0{i + 2}", "campaign_id": f"C-{i}", "diagnostic": d}
            for i, d in enumerate(diagnostics)
        )
    )


def test_changed_rules_reclassify_every_stored_bounce_once(tmp_path):
    s = member_with_bounces(FULL, FULL)
    assert [r[1:] for r in stored(s)] == [("soft", "mailbox_full", "mailbox-full")] * 2
    assert s.evaluate("2026-11-05").reasons(A, "news") == ["soft_bounce_limit"]

    path = rules_file(
        tmp_path,
        "[[rules]]\nid = 'full-means-gone'\nclass = 'hard'\nreason = 'user_unknown'\ntext = 'mailbox full'\n",
    )
    config = dataclasses.replace(s.config, bounce_rules=path)
    assert reclassify_if_rules_changed(s.con, config) == 2
    assert [r[1:] for r in stored(s)] == [("hard", "user_unknown", "full-means-gone")] * 2
    assert s.evaluate("2026-11-05").reasons(A, "news") == ["hard_bounce"]
    assert reclassify_if_rules_changed(s.con, config) == 0  # same rules: nothing to do

    assert reclassify_if_rules_changed(s.con, s.config) == 2  # back to the package rules
    assert [r[1:] for r in stored(s)] == [("soft", "mailbox_full", "mailbox-full")] * 2


def test_a_store_classified_before_any_digest_is_reclassified(tmp_path):
    s = member_with_bounces(FULL)
    s.con.execute(
        "update bounce_events set bounce_class = 'hard', bounce_reason = null, "
        "bounce_rule = 'enhanced_code 5.2.2'"
    )  # as an older version stored it
    assert reclassify_if_rules_changed(s.con, s.config) == 1
    assert stored(s) == [(1, "soft", "mailbox_full", "mailbox-full")]


def test_new_bounces_use_the_rules_the_store_was_last_classified_with(tmp_path):
    s = member_with_bounces(FULL)
    path = rules_file(
        tmp_path,
        "[[rules]]\nid = 'full-means-gone'\nclass = 'hard'\nreason = 'user_unknown'\ntext = 'mailbox full'\n",
    )
    reclassify_if_rules_changed(s.con, dataclasses.replace(s.config, bounce_rules=path))
    s.con.execute("drop table bounce_rules")  # a new connection: no rules installed yet
    s.bounces({"email": A, "occurred_at": "2026-11-09", "campaign_id": "C-9", "diagnostic": FULL})
    assert [r[3] for r in stored(s)] == ["full-means-gone", "full-means-gone"]


def test_detail_names_reason_and_rule_and_keeps_codes_found_only_in_the_text():
    s = Scenario().export("2026-11-01", {"contact_id": "C1", "email": A, "list_id": "news"})
    s.bounces(
        {
            "email": A,
            "occurred_at": "2026-11-02T08:00",
            "campaign_id": "C-1",
            "diagnostic": "smtp; 550-5.1.1 The email account that you tried to reach does not exist.",
        }
    )
    status = s.evaluate("2026-11-03").status(A, "news")
    assert status["reasons"] == ["hard_bounce"]
    assert status["detail"].startswith(
        'hard bounce "smtp; 550-5.1.1 The email account that you tried to reach does not exist." '
        "(user_unknown, rule user-unknown) on campaign C-1, 2026-11-02T08:00Z"
    )
