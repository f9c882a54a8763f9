"""The monitoring files against the metrics the collector really writes: every metric the alert rules, the
promtool tests and the Grafana dashboard use is one that plugins/module_utils/node_metrics.py declares
(FAMILIES) and renders, or Prometheus' own `up`."""

from __future__ import annotations

import json
import re

import yaml
from conftest import ROOT, plugin

nm = plugin("module_utils", "node_metrics")
METRIC = re.compile(r"\b(gpu_rig_[a-z_]+|up)\b(?=\s*[{\[)=!<>+\-*/ ]|\s*$)")
RULES = ROOT / "roles" / "monitoring" / "templates" / "gpu_rig_rules.yml.j2"
DASHBOARD = ROOT / "roles" / "monitoring" / "files" / "grafana" / "gpu-rig.json"
PROMTOOL_TESTS = ROOT / "tests" / "promtool" / "gpu_rig_rules_test.yml"


def names(expr: str) -> set[str]:
    return set(METRIC.findall(expr))


def rules() -> list[dict]:
    text = RULES.read_text(encoding="utf-8").replace("[[ ansible_managed | comment ]]", "# managed")
    text = re.sub(r"\[\[[^\]]*\]\]", "1", text)
    return yaml.safe_load(text)["groups"][0]["rules"]


def test_every_rule_uses_metrics_the_collector_writes() -> None:
    used = set()
    for rule in rules():
        found = names(rule["expr"])
        assert found, rule["alert"]
        used |= found
    assert used - {"up"} <= set(nm.FAMILIES), used - {"up"} - set(nm.FAMILIES)


def test_every_rule_has_a_promtool_test() -> None:
    tested = {case["alertname"] for test in yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]
              for case in test["alert_rule_test"]}
    untested = {r["alert"] for r in rules()} - tested
    # The collector-staleness and uncorrected-error alerts are plain comparisons of one metric with a number.
    assert untested <= {"GpuRigCollectorStale", "GpuRigMemoryUncorrectedErrors"}, untested
    series = {s["series"].split("{")[0].strip() for test in yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]
              for s in test["input_series"]}
    assert series - {"up"} <= set(nm.FAMILIES)


def test_the_dashboard_is_json_and_uses_only_written_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) == len(dashboard["panels"]) >= 10
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    used = set().union(*(names(e) for e in exprs)) | names(dashboard["templating"]["list"][1]["definition"])
    assert used and used <= set(nm.FAMILIES), used - set(nm.FAMILIES)


def test_the_readme_lists_every_metric_with_its_meaning() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, (kind, help_text) in nm.FAMILIES.items():
        assert f"| `{name}` | {kind} | {help_text} |" in readme, name
