"""How far a long install has got: apt's archive and term.log (a real term.log of a lab node)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import FIXTURES, load_module, plugin

progress = plugin("module_utils", "install_progress")
TERM_LOG = (FIXTURES / "apt" / "term_log" / "debian12_lab_node.log").read_text()


def node(tmp_path: Path, term_log: str | None = None) -> Path:
    (tmp_path / "var/cache/apt/archives/partial").mkdir(parents=True)
    if term_log is not None:
        (tmp_path / "var/log/apt").mkdir(parents=True)
        (tmp_path / "var/log/apt/term.log").write_text(term_log)
    return tmp_path


def test_before_dpkg_the_line_counts_what_apt_fetched(tmp_path):
    root = node(tmp_path, TERM_LOG)
    (root / "var/cache/apt/archives/old_1.0_amd64.deb").write_bytes(b"x" * 1000)  # in the cache before
    time.sleep(0.05)
    since = time.time()
    os.utime(root / "var/log/apt/term.log", (since - 100, since - 100))  # the last install was earlier
    fetched = root / "var/cache/apt/archives/cuda-nvcc-12-8_12.8.93-1_amd64.deb"
    fetched.write_bytes(b"x" * 2_500_000)
    os.utime(fetched, (since - 86400, since - 86400))  # apt gives it the server's modification time
    (root / "var/cache/apt/archives/partial/cuda-cudart-12-8_12.8.90-1_amd64.deb").write_bytes(b"x" * 500_000)
    assert progress.fetched_bytes(root, since) == 3_000_000
    assert progress.describe(root, since, 1_621_680_000) == "fetched 3.0 MB of 1.6 GB; dpkg has not started"


def test_once_dpkg_runs_its_last_step_is_said(tmp_path):
    root = node(tmp_path, TERM_LOG)
    step = progress.dpkg_step(root, time.time() - 60)
    last = [line for line in TERM_LOG.splitlines() if line.strip() and not line.startswith("Log ended:")][-1]
    assert step == last.strip() and not step.startswith("Log "), step
    running = (TERM_LOG + "Log started: 2026-12-02  03:00:00\n"
               "Selecting previously unselected package cuda-nvcc-12-8.\nUnpacking cuda-nvcc-12-8 (12.8.93-1) ...\n")
    (root / "var/log/apt/term.log").write_text(running)
    assert progress.describe(root, time.time() - 60, 0) == "fetched 0 B; dpkg: Unpacking cuda-nvcc-12-8 (12.8.93-1) ..."


def test_no_log_and_no_archive_say_nothing_has_happened(tmp_path):
    assert progress.describe(tmp_path, time.time(), 0) == "fetched 0 B; dpkg has not started"


def test_the_module_reads_the_async_results_file(tmp_path):
    module = load_module("plugins/modules/install_progress.py")
    results = tmp_path / "j123.456"
    results.write_text('{"started": 1, "finished": 0, "ansible_job_id": "j123.456"}')
    assert module.finished(results) is False
    results.write_text('{"changed": true, "cache_updated": false, "stdout": "..."}')  # the module's own result
    assert module.finished(results) is True
    results.write_text('{"started": 1, "fini')  # being replaced
    assert module.finished(results) is False
    assert module.finished(tmp_path / "missing") is False
