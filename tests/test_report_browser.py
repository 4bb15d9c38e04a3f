"""The run report in a real headless Chromium with the network cut: no console error, the expected
marks drawn for the sample's two nights, tables equal to the Parquet outputs, and it prints."""

from __future__ import annotations

import base64
from pathlib import Path

import polars as pl
import pytest

from conftest import copy_sample, invoke, latest, read

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NIGHT_1 = "2026-11-20T06:00:00Z"
NIGHT_2 = "2026-11-21T06:00:00Z"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    config = copy_sample(tmp_path_factory.mktemp("browser"))
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_1)
    first = latest(config)
    invoke("-q", "run", "--config", config, "--as-of", NIGHT_2)
    second = latest(config)
    invoke("-q", "report", "--config", config)
    return first, second


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, offline, driven through Debian's chromedriver (given
    explicitly: selenium-manager never runs, nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1366,900",  # a laptop screen
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser, nights):
    """Night 2's report loaded; the browser's console and network logs of the load."""
    _, second = nights
    browser.get_log("browser")  # what came before the load is not the page's
    browser.get_log("performance")
    browser.get((second / "report.html").as_uri())
    browser.find_element("css selector", "section#stages")  # the page's last section is there
    return browser, browser.get_log("browser"), browser.get_log("performance")


def marks(driver, chart: str, selector: str) -> list:
    return driver.find_elements("css selector", f'svg[data-chart="{chart}"] {selector}')


def test_the_page_loads_offline_with_no_console_error_and_no_request(page):
    driver, console, performance = page
    assert [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")] == []
    # the page's requests: the page itself (a file:// load) and nothing else
    url = driver.current_url
    requested = [
        e["message"]
        for e in performance
        if '"Network.requestWillBeSent"' in e["message"] and f'"documentURL":"{url}"' in e["message"]
    ]
    assert len(requested) == 1 and f'"url":"{url}"' in requested[0], requested
    assert driver.title.startswith("listhygiene run ")


def test_each_chart_draws_one_mark_per_number_of_the_two_nights(page, nights):
    driver, _, _ = page
    first, second = nights
    runs = (first, second)
    lists = sorted(read(second, "contact_status")["list_id"].drop_nulls().unique())
    assert len(marks(driver, "sendable", "g.series")) == len(lists) == 3
    assert len(marks(driver, "sendable", "circle.point")) == 2 * len(lists)

    def stacked(output: str, column: str) -> tuple[int, int]:
        """(series, bars): the distinct values over both runs, one bar per (run, value) present."""
        pairs = {(i, v) for i, run in enumerate(runs) for v in read(run, output)[column].unique()}
        return len({v for _, v in pairs}), len(pairs)

    for chart, output in (("vanished", "vanished"), ("suppressions", "suppressions")):
        series, bars = stacked(output, "reason")
        assert len(marks(driver, chart, "g.series")) == series, chart
        assert len(marks(driver, chart, "rect.bar")) == bars, chart
    assert len(marks(driver, "vanished", "rect.bar")) == 8  # night 1 lost no one; night 2, 8 reasons
    rates = read(second, "rates")
    by_domain = rates.group_by("domain").agg(pl.col("deliveries", "hard", "soft", "block").sum())
    nonzero = sum(int((by_domain[c] > 0).sum()) for c in ("deliveries", "hard", "soft", "block"))
    assert len(marks(driver, "outcomes", "rect.bar")) == nonzero
    campaigns = rates.group_by("campaign_id").agg(pl.col("deliveries").sum())
    assert len(marks(driver, "complaint_rate", "rect.bar")) == int((campaigns["deliveries"] > 0).sum())
    # every chart is laid out at a readable size on a laptop screen, and nothing overflows sideways
    for svg in driver.find_elements("css selector", "svg.chart"):
        assert svg.size["width"] >= 300, svg.get_attribute("data-chart")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def test_the_tables_hold_the_parquet_numbers(page, nights):
    driver, _, _ = page
    _, second = nights
    rates = read(second, "rates").sort("campaign_id", "domain", nulls_last=False)
    shown = [
        [cell.text for cell in row.find_elements("css selector", "td")]
        for row in driver.find_elements("css selector", 'table[data-table="rates"] tbody tr')
    ]
    expected = [
        [
            r["campaign_id"] or "(none)",
            r["domain"],
            *[f"{r[c]:,}" for c in ("messages", "deliveries", "hard", "complaints", "unsubscribes")],
            *[
                "-" if r[c] is None else f"{r[c] * 100:.2f}%"
                for c in ("hard_rate", "complaint_rate", "unsubscribe_rate")
            ],
            ", ".join(r["thresholds_crossed"]) or "-",
        ]
        for r in rates.iter_rows(named=True)
    ]
    assert shown == expected
    vanished = read(second, "vanished")
    rows = driver.find_elements("css selector", 'table[data-table="vanished"] tbody tr')
    assert len(rows) == vanished.height
    reasons = sorted(row.find_elements("css selector", "td")[2].text for row in rows)
    assert reasons == sorted(vanished["reason"])


def test_the_report_prints_to_pdf(page):
    driver, _, _ = page
    printed = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "paperWidth": 8.27})
    pdf = base64.b64decode(printed["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
