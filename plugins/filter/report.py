# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster report: every node's GPUs, versions, power, health and drift, as Markdown and one HTML page.

playbooks/report.yml reads each node (its health reports, driver state, power state, packages) into one
record per node and renders them with ``cluster_report_rows`` (the table's values), ``cluster_report_markdown``
and ``cluster_report_html`` (self-contained: no script, no external style or font). What a node could not
show is said as such: UNKNOWN where a report is missing, SKIP with its reason where the checks skipped,
and packages from the project's test mirror are marked STAND-IN.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check_line

DOCUMENTATION = r"""
name: cluster_report_html
short_description: Render the cluster report as one self-contained HTML page
description:
  - Renders the records playbooks/report.yml gathers (one per node) as an HTML page with no script and no
    external resources. The sibling filters C(cluster_report_rows) and C(cluster_report_markdown) are in
    the same file.
options:
  _input:
    description: The report - C(generated), C(target_gpus), C(nodes) (one record per node), C(drift_source).
    type: dict
    required: true
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the page
  ansible.builtin.copy:
    dest: report/cluster.html
    content: "{{ report | gpu_rig.cluster.cluster_report_html }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The HTML page.
  type: str
"""

COLUMNS = (
    ("node", "Node"), ("os", "OS"), ("gpus", "GPUs"), ("model", "Model"), ("driver", "Driver"),
    ("cuda", "CUDA toolkits"), ("container_toolkit", "Container toolkit"), ("docker", "Docker"),
    ("lock", "Lock"), ("power", "Power limit"), ("psu", "PSU budget"), ("gpu_health", "GPU health"),
    ("memory", "ECC and memory"), ("xid", "Xid history"), ("validated", "Last validation"),
    ("drift", "Drift"), ("scrape", "Last scrape"), ("slurm", "Slurm"),
)


def _slurm(report: Mapping[str, Any], host: str) -> str:
    """The node in Slurm (sinfo on the controller): its state, GRES and a drain's reason."""
    slurm = report.get("slurm") or {}
    if not slurm:
        return "not in Slurm (site_slurm off)"
    if slurm.get("error"):
        return f"UNKNOWN: sinfo on {slurm.get('controller')} failed: {slurm['error']}"
    entry = (slurm.get("nodes") or {}).get(host)
    if not entry:
        return "not a Slurm node"
    state = str(entry.get("state") or "unknown").upper()
    reason = entry.get("reason") or ""
    text = f"{state} {entry.get('gres') or 'no GRES'}"
    return f"{text}: {reason}" if reason and reason != "none" else text


def _scrape(report: Mapping[str, Any], host: str) -> str:
    """The node's target in Prometheus' answer (/api/v1/targets): its health and last scrape."""
    prometheus = report.get("prometheus") or {}
    if not prometheus:
        return "no Prometheus (no gpu_head in the inventory)"
    if prometheus.get("error"):
        return f"UNKNOWN: Prometheus on {prometheus.get('node')} not read: {prometheus['error']}"
    targets = ((prometheus.get("answer") or {}).get("data") or {}).get("activeTargets") or []
    mine = [t for t in targets
            if t.get("scrapePool") == "gpu_rig_nodes" and (t.get("labels") or {}).get("instance") == host]
    if not mine:
        return "NOT SCRAPED: not a target of Prometheus"
    target = mine[0]
    health = str(target.get("health") or "unknown").upper()
    when = str(target.get("lastScrape") or "")[:19].replace("T", " ")
    error = f": {target['lastError']}" if target.get("lastError") else ""
    return f"{health} {when} UTC{error}" if when and not when.startswith("0001") else f"{health}: never scraped{error}"


def _health(report: Mapping[str, Any] | None) -> str:
    """The verdict, how many checks gave each verdict, and what was not PASS (so a PASS never hides a SKIP)."""
    if not report:
        return "UNKNOWN: no report on the node"
    verdict = str(report.get("verdict") or "UNKNOWN")
    checks = report.get("checks") or []
    counts = {v: sum(1 for c in checks if c.get("verdict") == v) for v in ("FAIL", "WARN", "UNKNOWN", "PASS", "SKIP")}
    text = verdict + " (" + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ")" if checks else verdict
    notable = [check_line(c) for c in checks if c.get("verdict") in ("FAIL", "WARN", "UNKNOWN")]
    skipped = sorted({str(c.get("reason") or "") for c in checks if c.get("verdict") == "SKIP"} - {""})
    if notable:
        text += ": " + "; ".join(notable)
    if skipped:
        text += "; SKIP: " + "; ".join(skipped)
    return text


def _gpus(node: Mapping[str, Any]) -> tuple[int, str]:
    expected = int((node.get("hardware") or {}).get("gpu_count") or 0)
    facts = (node.get("gpu_health") or {}).get("facts") or {}
    if not node.get("gpu_health"):
        return 0, f"UNKNOWN of {expected} expected (no gpu_health report)"
    if not facts.get("available"):
        return 0, f"0 seen of {expected} expected ({facts.get('reason') or 'nvidia-smi did not answer'})"
    seen = len(facts.get("gpus") or [])
    return seen, f"{seen} of {expected} expected"


def _versions(node: Mapping[str, Any], key: str) -> str:
    value = (node.get("versions") or {}).get(key)
    stand_ins = set(node.get("stand_ins") or [])
    if not value:
        return "not installed"
    if isinstance(value, Mapping):
        return ", ".join(f"{name} {version}" + (" (STAND-IN)" if name in stand_ins else "")
                         for name, version in sorted(value.items()))
    marked = key in ("nvidia_driver_version", "nvidia_container_toolkit_version") and node.get("stand_in_stack")
    return f"{value}" + (" (STAND-IN)" if marked else "")


def _power(node: Mapping[str, Any]) -> tuple[str, str]:
    state = node.get("gpu_power")
    facts = (node.get("gpu_health") or {}).get("facts") or {}
    live = [g.get("power", {}).get("enforced_w") for g in facts.get("gpus") or []]
    if not state:
        return "UNKNOWN: gpu_power has not run", "UNKNOWN"
    targets = state.get("targets_w") or []
    target = ", ".join(f"{float(w):g} W" for w in targets) or "no GPU to limit"
    enforced = ", ".join(f"{float(w):g} W" for w in live if w is not None)
    budget = state.get("budget") or {}
    verdict = "within" if budget.get("ok") else "OVER"
    psu = (f"{verdict}: {float(budget.get('total_w', 0)):g} W of {float(budget.get('allowed_w', 0)):g} W allowed"
           if budget else "UNKNOWN")
    return target + (f" (enforced: {enforced})" if enforced else " (enforced: not seen)"), psu


def _xids(node: Mapping[str, Any]) -> str:
    facts = (node.get("gpu_health") or {}).get("facts") or {}
    events = facts.get("xid_events")
    if events is None:
        word = "SKIP" if (node.get("gpu_health") or {}).get("verdict") == "SKIP" else "UNKNOWN"
        return f"{word}: " + str(facts.get("kernel_log") or "kernel log not read")
    if not events:
        return "none"
    codes: dict[str, int] = {}
    for event in events:
        codes[str(event.get("xid"))] = codes.get(str(event.get("xid")), 0) + 1
    return ", ".join(f"Xid {code} x{count}" for code, count in sorted(codes.items()))


def _lock(node: Mapping[str, Any]) -> str:
    if not node.get("lock"):
        return "no lock for this release"
    differences = node.get("lock_differences") or []
    return "matches" if not differences else "DIFFERS: " + "; ".join(differences)


def _drift(report: Mapping[str, Any], host: str) -> str:
    drift = report.get("drift") or {}
    entry = (drift.get("hosts") or {}).get(host)
    if not entry:
        return "not checked"
    when = f" (check of {drift.get('finished') or drift.get('started') or 'unknown time'})"
    if entry.get("status") == "clean":
        return "clean" + when
    if entry.get("status") == "drifted":
        tasks = [d.get("task", "?") for d in entry.get("drift") or []]
        return f"DRIFTED: {len(tasks)} task(s): " + "; ".join(tasks) + when
    errors = "; ".join(f"{e.get('task')}: {e.get('msg')}" for e in entry.get("errors") or [])
    return f"{str(entry.get('status')).upper()}: {errors}" + when


def _os(node: Mapping[str, Any]) -> str:
    where = f" ({node['virtualization']})" if node.get("virtualization") else ""
    return str(node.get("os") or "UNKNOWN") + where


def cluster_report_rows(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per node, keyed by the columns' keys, as the table shows them."""
    rows = []
    for node in report.get("nodes") or []:
        gpus = _gpus(node)[1]
        power, psu = _power(node)
        facts = (node.get("gpu_health") or {}).get("facts") or {}
        models = sorted({str(g.get("name")) for g in facts.get("gpus") or []})
        expected_model = (node.get("hardware") or {}).get("gpu_model")
        driver_state = node.get("driver_state") or {}
        driver = _versions(node, "nvidia_driver_version")
        if driver_state.get("reboot_required"):
            driver += f" (loaded: {driver_state.get('loaded_version') or 'none'}; reboot pending)"
        rows.append({
            "node": str(node.get("host")),
            "os": _os(node),
            "gpus": gpus,
            "model": ", ".join(models) if models else f"not seen (expected: {expected_model or 'not set'})",
            "driver": driver,
            "cuda": _versions(node, "cuda_toolkit_package_versions"),
            "container_toolkit": _versions(node, "nvidia_container_toolkit_version"),
            "docker": _versions(node, "container_engine_docker_package_versions"),
            "lock": _lock(node),
            "power": power,
            "psu": psu,
            "gpu_health": _health(node.get("gpu_health")),
            "memory": _health(node.get("memory_health")),
            "xid": _xids(node),
            "validated": str(node.get("validated") or "never"),
            "drift": _drift(report, str(node.get("host"))),
            "scrape": _scrape(report, str(node.get("host"))),
            "slurm": _slurm(report, str(node.get("host"))),
        })
    return rows


def _summary(report: Mapping[str, Any]) -> dict[str, Any]:
    nodes = report.get("nodes") or []
    seen = sum(_gpus(node)[0] for node in nodes)
    expected = sum(int((node.get("hardware") or {}).get("gpu_count") or 0) for node in nodes)
    stand_in = any(node.get("stand_in_stack") for node in nodes)
    return {"nodes": len(nodes), "seen": seen, "expected": expected, "target": int(report.get("target_gpus") or 0),
            "stand_in": stand_in, "unreachable": list(report.get("unreachable") or [])}


def cluster_report_markdown(report: Mapping[str, Any]) -> str:
    summary = _summary(report)
    rows = cluster_report_rows(report)
    lines = [
        "# GPU cluster report", "",
        f"Generated {report.get('generated')}. {summary['nodes']} node(s); GPUs seen: {summary['seen']} "
        f"(inventory: {summary['expected']}; target: {summary['target']}).", "",
    ]
    if summary["unreachable"]:
        lines += [f"Not read (unreachable or failed): {', '.join(summary['unreachable'])}.", ""]
    if (report.get("prometheus") or {}).get("url"):
        lines += [f"Prometheus: <{report['prometheus']['url']}> (alerts: <{report['prometheus']['url']}/alerts>).", ""]
    if summary["stand_in"]:
        lines += ["Packages marked STAND-IN come from the project's test mirror: they contain no NVIDIA software.", ""]
    lines.append("| " + " | ".join(title for _key, title in COLUMNS) + " |")
    lines.append("|" + " --- |" * len(COLUMNS))
    for row in rows:
        lines.append("| " + " | ".join(row[key].replace("|", "\\|") for key, _title in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #eee; }
.bad { background: #f8d0d0; } .warn { background: #fbefc4; } .unknown { background: #e4e4e4; }
.good { background: #d7efd7; } .note { color: #555; }
"""


def _css(key: str, value: str, node: Mapping[str, Any]) -> str:
    """The cell's colour: what could not be seen is grey, never red or green."""
    text = value.upper()
    if key == "gpus":
        seen = _gpus(node)[0]
        expected = int((node.get("hardware") or {}).get("gpu_count") or 0)
        if (node.get("gpu_health") or {}).get("verdict") in (None, "SKIP"):
            return "unknown"
        return "good" if seen == expected else "bad"
    if text.startswith(("UNKNOWN", "SKIP", "NOT ", "NO ", "NEVER")):
        return "unknown"
    if any(word in text for word in ("FAIL", "DIFFERS", "OVER", "DRIFTED", "UNREACHABLE")):
        return "bad"
    if key == "slurm" and ("DRAIN" in text or "DOWN" in text):
        return "bad"
    if "WARN" in text or "PENDING" in text or "STAND-IN" in text:
        return "warn"
    return "good" if text.startswith(("PASS", "MATCHES", "WITHIN", "CLEAN", "NONE")) else ""


def cluster_report_html(report: Mapping[str, Any]) -> str:
    summary = _summary(report)
    rows = cluster_report_rows(report)
    esc = html.escape
    head = "".join(f'<th data-col="{key}">{esc(title)}</th>' for key, title in COLUMNS)
    body = []
    for node, row in zip(report.get("nodes") or [], rows, strict=True):
        cells = "".join(f'<td data-col="{key}" class="{_css(key, row[key], node)}">{esc(row[key])}</td>'
                        for key, _title in COLUMNS)
        body.append(f'<tr data-node="{esc(row["node"])}">{cells}</tr>')
    note = ('<p class="note" id="stand-in">Packages marked STAND-IN come from the project\'s test mirror: '
            "they contain no NVIDIA software.</p>") if summary["stand_in"] else ""
    missing = (f'<p class="bad" id="unreachable">Not read (unreachable or failed): '
               f'{esc(", ".join(summary["unreachable"]))}.</p>') if summary["unreachable"] else ""
    url = str((report.get("prometheus") or {}).get("url") or "")
    link = (f'<p id="prometheus">Prometheus: <a href="{esc(url)}">{esc(url)}</a> '
            f'(<a href="{esc(url)}/alerts">alerts</a>).</p>') if url else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>GPU cluster report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>GPU cluster report</h1>"
        f'<p id="summary">Generated {esc(str(report.get("generated")))}. '
        f'<span id="node-count">{summary["nodes"]}</span> node(s); GPUs seen: '
        f'<span id="gpus-seen">{summary["seen"]}</span> (inventory: <span id="gpus-expected">{summary["expected"]}'
        f'</span>; target: <span id="gpus-target">{summary["target"]}</span>).</p>'
        f"{note}{missing}{link}"
        f'<table id="nodes"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</body></html>\n"
    )


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"cluster_report_rows": cluster_report_rows, "cluster_report_markdown": cluster_report_markdown,
                "cluster_report_html": cluster_report_html}
