"""The web page in headless Chromium (issue 12): sign in with a token, upload a file through
the page, watch the job finish, download errors.csv, and read the counts off the status page;
on a laptop's window and on a phone's. The screenshots stay under the test's folder."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Browser, chromium_binary
from tests.serving import HEADER, World, csv_bytes, served
from ztbulk.registry.seed import OWNER

ORDER = ["applied", "claimed", "unclaimed", "unchanged", "valid", "skipped", "rejected"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chromium_binary()  # skipped (or, in CI, failed) before a server is started for nothing
    with served(tmp_path_factory.mktemp("browser")) as w:
        yield w


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _file(world: World, folder: Path) -> Path:
    target = world.seeded.configuration_ids[2]
    rows = [f"IMEI,{d['imei']},,,{d['manufacturer']},ZERO_TOUCH,{target}"
            for d in world.devices(world.seeded.customer_id, 12)]  # fmt: skip
    path = folder / "fleet.csv"
    path.write_bytes(csv_bytes(HEADER, [*rows, "IMEI,3.56938E+14,,,Google,ZERO_TOUCH,1"]))
    return path


def _sign_in(browser: Browser, world: World) -> None:
    browser.go(world.service.url + "/")
    browser.js(f"document.getElementById('token').value = {json.dumps(world.tokens[OWNER])}")
    browser.js("document.getElementById('sign-in-button').click()")
    browser.wait_for("!document.getElementById('app').hidden")
    assert browser.js("document.getElementById('who-name').textContent") == OWNER


@pytest.mark.parametrize(("width", "height", "mobile"), [(1280, 900, False), (390, 844, True)],
                         ids=["laptop", "phone"])  # fmt: skip
def test_upload_through_the_page_and_read_the_status_page(
    world: World, browser: Browser, tmp_path: Path, width: int, height: int, mobile: bool
) -> None:
    browser.open_page(width, height, mobile)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call("Browser.setDownloadBehavior", browser=True, behavior="allow",
                 downloadPath=str(downloads))  # fmt: skip
    source = _file(world, tmp_path)
    _sign_in(browser, world)
    browser.set_file("#file", source)
    browser.js("document.getElementById('upload-button').click()")
    browser.wait_for("document.getElementById('job-state').textContent === 'done'")
    shown = browser.js("[...document.querySelectorAll('#job-counts .count')]"
                       ".map(c => c.innerText.replace(/\\s+/g, ' ').trim())")  # fmt: skip
    job_id = browser.js("document.querySelector('#jobs tbody tr.current').dataset.id")
    with world.client(OWNER) as client:  # what the API says of the job the page shows
        outcomes = client.get(f"/v1/jobs/{job_id}").json()["outcomes"]
    assert sum(outcomes.values()) == 13 and outcomes["rejected"] == 1
    page_order = [k for k in ORDER if outcomes.get(k)]
    assert shown == ["13 data rows", *(f"{outcomes[k]} {k}" for k in page_order)], shown
    assert browser.js("document.getElementById('job-codes').innerText").count("IMEI_SCIENTIFIC")
    browser.screenshot(tmp_path / f"web-page-{width}x{height}.png")
    browser.js("document.getElementById('job-errors').click()")
    errors = _downloaded(downloads)
    assert "IMEI_SCIENTIFIC" in errors.read_text(encoding="utf-8-sig")
    link = browser.js("document.getElementById('job-status-page').href")
    browser.go(link)  # the signed link: the page opens without the token
    counts = browser.js("[...document.querySelectorAll('#outcomes tr')].slice(1)"
                        ".map(r => r.innerText.replace(/\\s+/g, ' ').trim())")  # fmt: skip
    assert sorted(counts) == sorted(f"{k} {n}" for k, n in outcomes.items()), counts
    assert browser.js("document.getElementById('rows').textContent") == "13"
    browser.screenshot(tmp_path / f"status-page-{width}x{height}.png")


def _downloaded(folder: Path, timeout_s: float = 30) -> Path:
    deadline = time.monotonic() + timeout_s
    while not (done := [p for p in folder.iterdir() if p.suffix == ".csv"]):
        assert time.monotonic() < deadline, f"no download in {folder}"
        time.sleep(0.1)
    return done[0]
