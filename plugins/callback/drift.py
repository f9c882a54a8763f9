# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback plugin: the drift report of a check-and-diff run, per host and task, as JSON and Markdown."""

from __future__ import annotations

DOCUMENTATION = r"""
name: drift
type: notification
short_description: Write what a check-and-diff run would change, per host and task, as JSON and Markdown
description:
  - Meant for C(ansible-playbook --check --diff playbooks/drift.yml) (C(make drift)). Every task result that
    would change something is recorded with its host, role, task name and diff; skipped, failed and unchanged
    results are not drift. A failed or unreachable host is listed as such, since its drift is unknown.
  - At the end of each play and of the run it writes C(drift.json) and C(drift.md) into O(report_dir) and, at
    the end, prints a short table. The last play of C(playbooks/drift.yml) reads C(drift.json) and fails when
    anything drifted, so the run exits non-zero.
  - Results of tasks that change nothing on the node (C(changed_when) false, read-only probes) never appear,
    because Ansible does not report them as changed.
requirements:
  - enable it with C(ANSIBLE_CALLBACKS_ENABLED=gpu_rig.cluster.drift) (C(make drift) does)
options:
  report_dir:
    description: Where drift.json and drift.md are written.
    type: path
    default: ./drift-report
    env:
      - name: GPU_RIG_DRIFT_DIR
author: GPU rig maintainers (!UNKNOWN)
"""

import json
import os
import time
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

MAX_DIFF = 4000  # characters of each diff kept in the report


def _diff_text(diff: Any) -> str:
    """One unified-looking text from Ansible's diff result (a dict or a list of dicts)."""
    parts = diff if isinstance(diff, list) else [diff] if diff else []
    out: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("prepared"):
            out.append(str(part["prepared"]))
            continue
        before, after = part.get("before", ""), part.get("after", "")
        if isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
            before, after = json.dumps(before, indent=2, sort_keys=True), json.dumps(after, indent=2, sort_keys=True)
        header = part.get("before_header") or part.get("after_header") or ""
        if before == after:
            continue
        out.append(f"--- {header} (now)\n+++ {header} (wanted)\n"
                   + "".join(f"-{line}\n" for line in str(before).splitlines())
                   + "".join(f"+{line}\n" for line in str(after).splitlines()))
    text = "\n".join(out)
    return text if len(text) <= MAX_DIFF else text[:MAX_DIFF] + "\n... (cut)\n"


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Drift report, {report['finished'] or report['started']}", "",
             "| host | status | tasks that would change |", "| --- | --- | --- |"]
    for host, entry in sorted(report["hosts"].items()):
        lines.append(f"| {host} | {entry['status']} | {len(entry['drift'])} |")
    for host, entry in sorted(report["hosts"].items()):
        if not entry["drift"] and not entry["errors"]:
            continue
        lines += ["", f"## {host}", ""]
        for error in entry["errors"]:
            lines.append(f"- **{error['status']}** in `{error['task']}`: {error['msg']}")
        for item in entry["drift"]:
            lines.append(f"- `{item['task']}`")
            if item["diff"]:
                lines += ["", "```diff", item["diff"].rstrip("\n"), "```", ""]
    return "\n".join(lines) + "\n"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "gpu_rig.cluster.drift"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None, options: Any = None) -> None:
        super().__init__(display=display, options=options)
        self.report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "finished": "",
                                       "hosts": {}}
        self.dir = Path(os.environ.get("GPU_RIG_DRIFT_DIR", "./drift-report"))

    def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.dir = Path(self.get_option("report_dir"))

    # ------------------------------------------------------------------------------------------ recording ----
    def _host(self, name: str) -> dict[str, Any]:
        return self.report["hosts"].setdefault(name, {"status": "clean", "drift": [], "errors": []})

    def _task_name(self, result: Any) -> str:
        task = result._task
        role = getattr(task, "_role", None)
        name = task.get_name().strip()
        return f"{role.get_name()} : {name}" if role and f"{role.get_name()} : " not in name else name

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._write()  # a later play (playbooks/drift.yml's last) reads what the earlier ones found

    @staticmethod
    def _ours(result: Any) -> bool:
        """The report's own tasks (they read and judge the report) are not drift."""
        return bool((getattr(result._task, "vars", None) or {}).get("__drift_report_task"))

    def v2_runner_on_ok(self, result: Any) -> None:
        if self._ours(result):
            return
        host = self._host(result._host.get_name())
        outcome = result._result
        items = outcome.get("results") if isinstance(outcome.get("results"), list) else None
        changed = any(i.get("changed") for i in items) if items else bool(outcome.get("changed"))
        if not changed:
            return
        diff = outcome.get("diff") or [i.get("diff") for i in items or [] if i.get("changed") and i.get("diff")]
        host["drift"].append({"task": self._task_name(result), "diff": _diff_text(diff),
                              "items": [str(i.get("item", i.get("_ansible_item_label", ""))) for i in items or []
                                        if i.get("changed")]})
        if host["status"] == "clean":
            host["status"] = "drifted"

    def _error(self, result: Any, status: str) -> None:
        if self._ours(result) or getattr(result._task, "ignore_errors", False):
            return
        host = self._host(result._host.get_name())
        host["errors"].append({"task": self._task_name(result), "status": status,
                               "msg": str(result._result.get("msg", ""))[:500]})
        host["status"] = status

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            self._error(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._error(result, "unreachable")

    # ------------------------------------------------------------------------------------------- writing ----
    def _write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        drifted = sorted(h for h, e in self.report["hosts"].items() if e["status"] != "clean")
        self.report["drifted"] = drifted
        (self.dir / "drift.json").write_text(json.dumps(self.report, indent=2, sort_keys=True) + "\n")
        (self.dir / "drift.md").write_text(markdown(self.report))

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self.report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._write()
        self._display.display("\nDRIFT REPORT (" + str(self.dir / "drift.md") + ")")
        for host, entry in sorted(self.report["hosts"].items()):
            tasks = ", ".join(d["task"] for d in entry["drift"][:5]) + (" ..." if len(entry["drift"]) > 5 else "")
            self._display.display(f"  {host:<24} {entry['status']:<12} {len(entry['drift']):>3} {tasks}")
