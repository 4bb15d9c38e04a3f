"""The documented pipeline-file snippets for each source format are valid pipeline files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from listhygiene.config import load_config

DOCS = Path(__file__).resolve().parent.parent / "docs"
# docs/platforms.md gives a snippet per format; each format's own page repeats one
SNIPPET_PAGES = [DOCS / "platforms.md", *sorted((DOCS / "platforms").glob("*.md"))]


def toml_snippets(page: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def format_snippets() -> list[str]:
    return toml_snippets(DOCS / "platforms.md")


def every_snippet() -> list[tuple[str, str]]:
    return [
        (page.relative_to(DOCS.parent).as_posix(), s) for page in SNIPPET_PAGES for s in toml_snippets(page)
    ]


@pytest.mark.parametrize(
    ("page", "snippet"),
    every_snippet(),
    ids=lambda v: re.search(r'format = "(\w+)"', v)[1] if "format =" in v else v,
)
def test_each_format_snippet_loads_as_a_pipeline_file(tmp_path, page, snippet):
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


def test_every_format_page_has_a_snippet():
    for page in SNIPPET_PAGES[1:]:
        assert toml_snippets(page), f"{page.name} has no pipeline-file snippet"


@pytest.mark.parametrize("page", ["README.md", "docs/configuration.md"])
def test_the_pipeline_file_example_loads(tmp_path, page):
    text = (DOCS.parent / page).read_text(encoding="utf-8")
    [example, *_] = re.findall(r"```toml\n(\[store\].*?)```", text, flags=re.S)
    config = tmp_path / "pipelines" / "pipeline.toml"
    config.parent.mkdir()
    config.write_text(example, encoding="utf-8")
    loaded = load_config(config)
    assert [s.name for s in loaded.sources] == ["crm"]
    assert loaded.lists["newsletter"].require_confirmed_optin
