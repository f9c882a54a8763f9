#!/usr/bin/env python3
"""Render a page in Debian's headless chromium: a screenshot, and the DOM as chromium built it.

Used by the tests of the cluster report (tests/integration/test_report_page.py and the cluster scenario):
    dom = render(Path("cluster.html"), Path("cluster.png"))
    rows = table_rows(dom, "nodes")   # one {data-col: text} per <tr data-node=...>
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str | None:
    return next((path for name in CHROMIUM if (path := shutil.which(name))), None)


def _run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="gpu-rig-chromium-") as profile:
        return subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120, check=True)


def render(page: Path, screenshot: Path, size: str = "2400,900") -> str:
    """Screenshot the page into screenshot (PNG) and return the DOM chromium rendered."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("no chromium on this machine (apt-get install chromium)")
    url = page.resolve().as_uri()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    _run(binary, f"--screenshot={screenshot.resolve()}", f"--window-size={size}", url)
    return _run(binary, "--dump-dom", url).stdout


class _Table(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []
        self.row: dict[str, str] | None = None
        self.col: str | None = None
        self.ids: dict[str, str] = {}
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr" and attributes.get("data-node"):
            self.row = {"node": attributes["data-node"] or ""}
        elif self.row is not None and tag == "td":
            self.col = attributes.get("data-col")
            if self.col:
                self.row[self.col] = ""
        if attributes.get("id") and tag == "span":
            self._id = attributes["id"]
            self.ids[self._id] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "td":
            self.col = None
        elif tag == "span":
            self._id = None

    def handle_data(self, data: str) -> None:
        if self.row is not None and self.col:
            self.row[self.col] += data
        if self._id:
            self.ids[self._id] += data


def table_rows(dom: str, table_id: str) -> list[dict[str, str]]:
    """The rows of the table with that id, each as {data-col: cell text}."""
    parser = _Table(table_id)
    parser.feed(dom)
    return parser.rows


def spans(dom: str) -> dict[str, str]:
    """The text of every <span id=...>, by id."""
    parser = _Table("")
    parser.feed(dom)
    return parser.ids
