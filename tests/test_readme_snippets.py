"""The README's pipeline-file snippets for each source format are valid pipeline files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from listhygiene.config import load_config

README = Path(__file__).resolve().parent.parent / "README.md"


def format_snippets() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Sources in the platforms' own formats", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```toml\n(.*?)```", section, flags=re.S)


@pytest.mark.parametrize("snippet", format_snippets(), ids=lambda s: re.search(r'format = "(\w+)"', s)[1])
def test_each_format_snippet_loads_as_a_pipeline_file(tmp_path, snippet):
    contacts = (
        ""
        if 'format = "mailchimp"' in snippet or 'kind = "contacts"' in snippet
        else ('[[sources]]\nname = "export"\nkind = "contacts"\npath = "contacts_*.csv"\n\n')
    )
    config = tmp_path / "pipeline.toml"
    config.write_text(
        '[store]\ndatabase = "store.duckdb"\noutput = "out"\n\n' + contacts + snippet, encoding="utf-8"
    )
    loaded = load_config(config)
    [source] = [s for s in loaded.sources if s.format]
    assert source.format in snippet


def test_every_format_has_a_snippet():
    formats = {re.search(r'format = "(\w+)"', s)[1] for s in format_snippets()}
    assert formats == {"ses", "sendgrid", "mailgun", "postmark", "mailchimp", "csv"}
