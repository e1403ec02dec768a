"""Render a built leaderboard in headless Chromium and check it: ``python -m leaderboards.check_site SITE_DIR``.

Takes a screenshot (``SITE_DIR/screenshot.png``), dumps the DOM after scripts ran, and reports: the number of run rows
in the table, whether the radar chart was drawn where one is due (≥ 3 metrics) and how many interval charts were,
JavaScript errors (the page counts
them) and console errors printed by Chromium, and whether any ``alert`` was called (an injection would). Exit code 0
when the page is healthy. Needs Debian's ``chromium`` (``apt-get install chromium``) or ``$CHROMIUM``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def find_chromium() -> str | None:
    for c in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def _run(exe: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    base = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--allow-file-access-from-files"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)


def check_site(site: str | Path, page: str = "index.html", timeout: float = 120) -> dict:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("headless Chromium not found: apt-get install chromium (or set CHROMIUM)")
    site = Path(site).resolve()
    url = (site / page).as_uri()
    shot = site / "screenshot.png"
    r1 = _run(exe, ["--window-size=1400,2200", f"--screenshot={shot}", url], timeout)
    r2 = _run(exe, ["--dump-dom", url], timeout)
    dom = r2.stdout
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1))) if body else {}
    console = [ln for ln in (r1.stderr + r2.stderr).splitlines()
               if "CONSOLE" in ln and re.search(r"error|uncaught", ln, re.I)]
    rows = len(re.findall(r"<tr data-run=", dom))
    return {"screenshot": str(shot) if shot.exists() else None, "rows": rows,
            "rows_expected": int(attrs.get("data-rows", -1)), "radar_drawn": attrs.get("data-radar-drawn") == "1",
            "radar_expected": attrs.get("data-radar-expected") == "1",
            "charts_drawn": int(attrs.get("data-charts-drawn", 0)),
            "charts_expected": len(set(re.findall(r'<div[^>]* id="(bar\d+)"', dom))),
            "js_errors": int(attrs.get("data-js-errors", 0)), "console_errors": console,
            "alerted": attrs.get("data-alerted") == "1", "dom_bytes": len(dom)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__)
        return 2
    res = check_site(argv[0])
    print(json.dumps(res, indent=2))
    ok = (res["rows"] == res["rows_expected"] and res["radar_drawn"] == res["radar_expected"]
          and res["charts_drawn"] == res["charts_expected"] and not res["js_errors"]
          and not res["console_errors"] and not res["alerted"] and res["screenshot"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
