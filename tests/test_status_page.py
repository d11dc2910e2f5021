"""The status page an admin forwards (#13 item 10), from real imports into a real registry:
when and how long, errors.csv linked, each row's device, failures apart from warnings, every
code explained, every failure on some page, a file-level error page that says nothing was
applied; and, in headless Chromium (Debian's `chromium`), a layout that fits a phone's width,
with screenshots kept under the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import HEADER
from ztbulk.jobs import import_file
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, Seeded, seed
from ztbulk.report.pages import PAGE_ROWS

BAD_ROWS = PAGE_ROWS + 500  # two pages of failures


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded, Path]:
    """A customer's import: 20 devices set (some flagged for Knox: applied with a warning), a
    row of an unknown device, and BAD_ROWS rows with malformed IMEIs."""
    tmp = tmp_path_factory.mktemp("status")
    db = tmp / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 400, other_devices=5)
        reg.con.execute("UPDATE devices SET kme = (id % 3 = 0) WHERE imei IS NOT NULL")
        mine = reg.all(
            "SELECT imei, model, manufacturer FROM devices WHERE customer_id = ? AND imei IS "
            "NOT NULL ORDER BY id LIMIT 20",
            [s.customer_id],
        )
    target = s.configuration_ids[1]
    rows = [f"IMEI,{i},,{m},{mf},ZERO_TOUCH,{target}" for i, m, mf in mine]
    rows.append(f"IMEI,356938035643809,,SC-51C,Samsung,ZERO_TOUCH,{target}")
    rows += [f"IMEI,35{n:08d},,SC-51C,Samsung,ZERO_TOUCH,{target}" for n in range(BAD_ROWS)]
    src = tmp / "fleet.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    out = tmp / "out"
    import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db,
                spool=tmp / "jobs", out_dir=out)  # fmt: skip
    return db, s, out


def _page(out: Path, name: str = "report.html") -> str:
    return (out / name).read_text(encoding="utf-8")


def test_the_page_says_when_what_and_where_to_fix(imported: tuple[Path, Seeded, Path]) -> None:
    _, _, out = imported
    html, report = _page(out), json.loads(_page(out, "report.json"))
    assert "row(s) need fixing" in html and 'href="errors.csv"' in html
    assert re.search(r"<dt>submitted</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</dd>", html)
    assert re.search(r"<dt>took</dt><dd>[\d.]+ s from submission", html)
    assert report["started_at"] and report["finished_at"]
    # each code explained from the catalogue
    assert "IMEI format: IMEI [modemid] is not exactly 15 digits." in html
    assert "Knox Mobile Enrollment: The device also has a Knox" in html
    # the failures name their device; the warnings are a list of their own
    assert '<td class=id data-label="device">IMEI 3500000000</td>' in html
    assert '<td class=id data-label="device">IMEI 356938035643809</td>' in html
    failures, warnings = html.split("<h2>Applied with a warning")
    assert "KME_CONFLICT" not in failures.split("<h2 id=failures-title>")[1]
    assert "DEVICE_NOT_FOUND" not in warnings and "KME_CONFLICT" in warnings
    assert re.search(
        r'data-label="device">IMEI \d{15}</td><td data-label="outcome">applied', warnings
    )


def test_every_failure_is_on_a_page(imported: tuple[Path, Seeded, Path]) -> None:
    _, _, out = imported
    errors = pl.read_csv(out / "errors.csv", infer_schema=False)
    shown: list[int] = []
    page, name = 1, "report.html"
    while True:
        html = _page(out, name)
        table = html.split('id="failures"')[1].split("</table>")[0]
        shown += [int(n) for n in re.findall(r'<td class=n data-label="line">(\d+)</td>', table)]
        found = re.search(r'<a href="(report-failures-\d+\.html)">next', html)
        if not found:
            break
        page, name = page + 1, found.group(1)
    assert page == 2 and sorted(shown) == sorted(int(x) for x in errors["ztbulk_line"])
    assert "previous</a>" in _page(out, "report-failures-2.html")


def test_a_file_level_error_page_says_nothing_was_applied(tmp_path: Path) -> None:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 20, other_devices=0)
    src = tmp_path / "bad.csv"
    src.write_text("modemtype,modemid,model\nIMEI,356938035643809,SC-51C\n", encoding="utf-8")
    import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db,
                spool=tmp_path / "jobs", out_dir=tmp_path / "out")  # fmt: skip
    html = _page(tmp_path / "out")
    assert "<b>Nothing was applied.</b>" in html and "Fix the file and import it again" in html
    assert "HEADER_MISSING_COLUMN" in html and "Missing column: A required column" in html
    assert "Failures (" not in html  # no rows were judged: no list of them


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is needed for the browser tests in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    return found


PROBE = """<!doctype html><html><body style="margin:0">
<iframe id=f src="{page}" style="width:{width}px;height:900px;border:0"></iframe><script>
document.getElementById("f").onload = function () {{
  var d = this.contentDocument, w = this.contentWindow, wide = [];
  d.querySelectorAll("body *").forEach(function (e) {{
    if (e.getBoundingClientRect().right > w.innerWidth + 1) wide.push(e.tagName + "#" + e.id);
  }});
  document.body.setAttribute("data-probe", JSON.stringify({{
    width: w.innerWidth, scroll: d.documentElement.scrollWidth, wide: wide.slice(0, 5),
    verdict: d.getElementById("verdict").textContent, rows: d.getElementById("rows").textContent
  }}));
}};</script></body></html>
"""


def _measure(chromium: str, page: Path, width: int, tmp_path: Path) -> dict[str, object]:
    """The page laid out `width` CSS pixels wide (in an iframe: headless windows are at least
    500 wide), as the browser sees it."""
    probe = page.parent / f"probe-{width}.html"
    probe.write_text(PROBE.format(page=page.name, width=width), encoding="utf-8")
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    measured: dict[str, object] = json.loads(found.group(1).replace("&quot;", '"'))
    return measured


@pytest.mark.parametrize("width", [390, 1280])
def test_in_chromium_it_fits_a_phone_and_a_laptop(
    imported: tuple[Path, Seeded, Path], tmp_path: Path, width: int
) -> None:
    chromium = _chromium()
    _, _, out = imported
    page = tmp_path / "report.html"
    shutil.copy(out / "report.html", page)
    seen = _measure(chromium, page, width, tmp_path)
    assert seen["width"] == width and seen["wide"] == [], seen
    assert int(str(seen["scroll"])) <= width
    assert (
        "row(s) need fixing" in str(seen["verdict"]) and str(seen["rows"]) == f"{BAD_ROWS + 21:,}"
    )
    shot = tmp_path / f"status-{width}.png"  # kept: a CI artefact, and for a person to look at
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},2200", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
