#!/usr/bin/env python3
"""What a fresh converge, its apt floor, a no-op re-run and a drift check cost, at 1, 2, 4 and 8 lab nodes.

For each node count, on the same machine and in one run (make bench; BENCH_NODES="1 2" for fewer):

1. a lab of N nodes over SSH (roles/lab, its own names and inventory under .cache/bench), bootstrapped;
2. **converge**: playbooks/site.yml on the fresh nodes, the GPU stack from the signed test mirror;
3. **floor**: the packages that converge installed, put on one more fresh node of the same image with the
   same apt sources, keys and pins, by one `apt-get install` (the physical limit a converge cannot beat);
4. **no-op**: site.yml again; 5. **drift**: playbooks/drift.yml in check mode.

Each node keeps its package cache under $LAB_CACHE_DIR/bench/apt-lab across runs; a converge whose nodes
had none yet also downloads (its result says cache_warm: false), the floor always installs from the cache.
Each step's wall time, the tasks it ran (the ok= of each node's recap, which counts changed ones, summed),
the CPU time of the control machine's ansible processes and their peak memory go to
bench/results/cluster-<date>.json
and docs/performance.md, with the ratios converge/floor, N nodes/1 node and drift/no-op. Steps repeated
(BENCH_REPEAT, default 1) report the median. Not part of make test.

At BENCH_VARIANT_NODES nodes (default 2; "" for none) the no-op is run once more with each of Ansible's speed
settings switched back to its default or off (pipelining, SSH multiplexing, the fact subset, the fact cache,
forks) and with strategy free, so that docs/performance.md says what each setting buys, measured in the same
run. The slowest tasks of the 1-node no-op (profile_tasks) show what holds it back.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".cache" / "bench"
PREFIX = "bench-node"
BIN = Path(sys.executable).parent
# docs/performance.md: the benchmark writes everything above this line, people everything below it.
NOTES = "<!-- Written by hand from here on; make bench keeps it. -->"


def run(argv: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one command; its wall time, CPU time and peak memory (its process tree), and the recap's task count."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env=dict(os.environ, **(env or {})))
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    tasks = sum(int(ok) for ok in re.findall(r"^\S+\s+: ok=(\d+)", text, re.MULTILINE))
    return {"rc": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 1), "tasks": tasks,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "log": str(log.relative_to(ROOT))}


def playbook(name: str, nodes: int, step: str, *args: str, env: dict[str, str] | None = None,
             check: bool = True) -> dict[str, Any]:
    argv = [str(BIN / "ansible-playbook"), "-i", str(STATE / "inventory"), f"playbooks/{name}", *args]
    result = run(argv, STATE / "logs" / f"{nodes}-{step}.log", env)
    if check and (result["rc"] not in (0, 2) or (result["rc"] == 2 and step != "drift")):
        raise SystemExit(f"{step} at {nodes} node(s) failed (rc {result['rc']}): see {result['log']}")
    return result


def lab(nodes: int, state: str) -> None:
    extra = {"lab_state": state, "lab_nodes": nodes, "lab_name_prefix": PREFIX, "lab_state_dir": str(STATE / "lab"),
             "lab_inventory_file": str(STATE / "inventory" / "hosts.yml"), "lab_mirror_user": "bench"}
    play = STATE / "lab.yml"
    play.write_text(json.dumps([{"name": "Bench lab", "hosts": "localhost", "connection": "local",
                                 "gather_facts": False, "roles": [{"role": "lab"}]}]))
    result = run([str(BIN / "ansible-playbook"), str(play), "-e", json.dumps(extra)],
                 STATE / "logs" / f"{nodes}-lab-{state}.log")
    if result["rc"] != 0:
        raise SystemExit(f"the bench lab ({state}, {nodes}) failed: see {result['log']}")


def podman(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(["podman", *argv], input=stdin, capture_output=True, text=True, check=True).stdout


def floor(nodes: int) -> dict[str, Any]:
    """One apt-get install of what converge installed on node 1, on a fresh node with the same apt setup."""
    before = set(podman("run", "--rm", "localhost/gpu-lab:debian12", "dpkg-query", "-W", "-f=${Package}\n").split())
    after = set(podman("exec", f"{PREFIX}1", "dpkg-query", "-W", "-f=${Package}\n").split())
    packages = sorted(after - before)
    name = f"{PREFIX}-floor"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    cache = Path(os.environ["LAB_CACHE_DIR"]) / "apt-lab" / f"{PREFIX}1"  # main() points it at the bench's own
    podman("run", "-d", "--name", name, "--privileged", "--systemd=always", "-v",
           f"{cache}:/var/cache/apt/archives:rw", "localhost/gpu-lab:debian12", "/sbin/init")
    try:
        setup = subprocess.run(["podman", "exec", f"{PREFIX}1", "tar", "-C", "/", "-cf", "-", "etc/apt",
                                "usr/share/keyrings"], capture_output=True, check=True).stdout
        subprocess.run(["podman", "exec", "-i", name, "tar", "-C", "/", "-xf", "-"], input=setup,
                       capture_output=True, check=True)
        podman("exec", name, "apt-get", "update", "-q")
        argv = ["podman", "exec", "-e", "DEBIAN_FRONTEND=noninteractive", name, "apt-get", "install", "-y", "-q",
                "--no-install-recommends", *packages]
        result = run(argv, STATE / "logs" / f"{nodes}-floor.log")
        result["packages"] = len(packages)
        return result
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)


# The no-op again with one setting changed: name -> (what it measures, environment).
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "project settings": ("ansible.cfg as it is", {}),
    "no pipelining": ("each module copied over SFTP before it runs", {"ANSIBLE_PIPELINING": "False"}),
    "no SSH multiplexing": ("a new SSH connection per task",
                            {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no"}),
    "all facts": ("gather_subset=all instead of min,virtual,hardware", {"ANSIBLE_GATHER_SUBSET": "all"}),
    "no fact cache": ("facts kept in memory only", {"ANSIBLE_CACHE_PLUGIN": "memory"}),
    "forks 1": ("one node at a time", {"ANSIBLE_FORKS": "1"}),
    "strategy free": ("each node runs ahead without waiting for the others", {"ANSIBLE_STRATEGY": "free"}),
}
SLOW_TASK = re.compile(r"^(?P<task>\S.*?) -{3,} (?P<seconds>\d+\.\d+)s$", re.MULTILINE)


def slowest(log: str, count: int = 15) -> list[dict[str, Any]]:
    """The slowest tasks profile_tasks lists at the end of a run's log."""
    text = (ROOT / log).read_text(encoding="utf-8", errors="replace")
    found = [{"task": m["task"].strip(), "seconds": float(m["seconds"])} for m in SLOW_TASK.finditer(text)]
    return sorted(found, key=lambda t: -t["seconds"])[:count]


def median(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("wall_s", "tasks", "cpu_s", "peak_mb")
    merged = dict(results[-1])
    merged.update({k: round(statistics.median(r[k] for r in results), 1) for k in keys})
    merged["runs"] = len(results)
    return merged


def measure(nodes: int, repeat: int) -> dict[str, Any]:
    lab(nodes, "absent")
    shutil.rmtree(STATE / "inventory", ignore_errors=True)
    (STATE / "inventory" / "group_vars" / "gpu_nodes").mkdir(parents=True)
    shutil.copy(ROOT / "inventory/lab/group_vars/gpu_nodes/main.yml", STATE / "inventory/group_vars/gpu_nodes/")
    caches = Path(os.environ["LAB_CACHE_DIR"]) / "apt-lab"
    warm = all(any((caches / f"{PREFIX}{n}").glob("*.deb")) for n in range(1, nodes + 1))
    lab(nodes, "present")
    playbook("bootstrap.yml", nodes, "bootstrap")
    steps: dict[str, Any] = {"converge": playbook("site.yml", nodes, "converge")}
    # A node's first converge also downloads its packages; later runs find them in its cache.
    steps["converge"]["cache_warm"] = warm
    if nodes == 1:
        steps["floor"] = floor(nodes)
    steps["noop"] = median([playbook("site.yml", nodes, f"noop{i}") for i in range(repeat)])
    drift_env = {"ANSIBLE_CALLBACKS_ENABLED": "gpu_rig.cluster.drift", "GPU_RIG_DRIFT_DIR": str(STATE / "drift")}
    steps["drift"] = median([playbook("drift.yml", nodes, f"drift{i}", "--check", "--diff", env=drift_env)
                             for i in range(repeat)])
    if nodes == 1:
        steps["noop"]["slowest"] = slowest(steps["noop"]["log"])
    return steps


def variants(nodes: int) -> dict[str, Any]:
    """The no-op on the same lab with each speed setting changed (measure() built it and left it)."""
    out: dict[str, Any] = {}
    for name, (meaning, env) in VARIANTS.items():
        result = playbook("site.yml", nodes, "variant-" + name.replace(" ", "-"), env=env, check=False)
        out[name] = {**result, "meaning": meaning, "env": env}
    return out


def markdown(report: dict[str, Any]) -> str:
    rows = ["| nodes | step | wall (s) | tasks | controller CPU (s) | peak memory (MB) | note |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for nodes, steps in report["results"].items():
        for step, r in steps.items():
            note = ("caches warm" if r["cache_warm"] else "with downloads") if "cache_warm" in r else (
                f"{r['packages']} packages" if "packages" in r else "")
            rows.append(f"| {nodes} | {step} | {r['wall_s']} | {r['tasks']} | {r['cpu_s']} | {r['peak_mb']} | {note} |")
    ratios = [f"- {name}: {value}" for name, value in report["ratios"].items()]
    machine = report["machine"]
    extra: list[str] = []
    if report.get("variants"):
        nodes, found = report["variants"]["nodes"], report["variants"]["runs"]
        base = found["project settings"]["wall_s"]
        extra += ["", f"## Each setting, measured: the no-op at {nodes} nodes", "",
                  "| setting | what changes | wall (s) | vs. the project's settings | controller CPU (s) |",
                  "| --- | --- | --- | --- | --- |"]
        for name, r in found.items():
            failed = "" if r["rc"] == 0 else f" (failed, rc {r['rc']})"
            ratio = r["wall_s"] / base
            extra.append(f"| {name} | {r['meaning']} | {r['wall_s']}{failed} | {ratio:.2f}x | {r['cpu_s']} |")
    slow = report["results"].get("1", {}).get("noop", {}).get("slowest")
    if slow:
        extra += ["", "## What the 1-node no-op spends its time on (profile_tasks)", "",
                  "| task | s |", "| --- | --- |",
                  *[f"| {t['task'].replace('|', chr(92) + '|')} | {t['seconds']} |" for t in slow]]
    return "\n".join([
        "# Performance", "",
        "Measured by `make bench` (`bench/cluster.py`): a lab of N container nodes over SSH, the GPU stack from",
        "the signed test mirror (stand-ins). The tables are written by the benchmark, the notes after them by hand.",
        "",
        f"Machine: {machine['cpus']} CPUs, {machine['system']}, Python {machine['python']}, "
        f"{machine['ansible']}; run {report['date']}.", "",
        *rows, "", "Ratios:", "", *ratios, *extra, "",
    ])


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    one = results.get("1", {})
    if "floor" in one:
        out["converge / floor (1 node)"] = round(one["converge"]["wall_s"] / one["floor"]["wall_s"], 2)
    for nodes, steps in results.items():
        out[f"drift / no-op ({nodes} node(s))"] = round(steps["drift"]["wall_s"] / steps["noop"]["wall_s"], 2)
        if one and nodes != "1":
            for step in ("noop", "drift"):
                out[f"{step}: {nodes} nodes / 1 node"] = round(steps[step]["wall_s"] / one[step]["wall_s"], 2)
    return out


def save(report: dict[str, Any], out: Path) -> None:
    """The JSON file and docs/performance.md, the hand-written notes of the page kept after the tables."""
    report["ratios"] = ratios(report["results"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    page = ROOT / "docs" / "performance.md"
    notes = page.read_text(encoding="utf-8").partition(NOTES)[2] if page.exists() else ""
    page.write_text(markdown(report) + "\n" + NOTES + notes, encoding="utf-8")


def main() -> int:
    counts = [int(n) for n in os.environ.get("BENCH_NODES", "1 2 4 8").split()]
    repeat = int(os.environ.get("BENCH_REPEAT", "1"))
    variant_nodes = os.environ.get("BENCH_VARIANT_NODES", "2").strip()
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    os.environ["LAB_CACHE_DIR"] = str(Path(os.environ.get("LAB_CACHE_DIR", "/var/cache/gpu-lab")) / "bench")
    STATE.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=True)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "system": platform.platform(), "python": platform.python_version(),
                    "ansible": version.stdout.splitlines()[0]},
        "results": {}}
    out = ROOT / "bench" / "results" / f"cluster-{time.strftime('%Y%m%d-%H%M', time.gmtime())}.json"
    try:
        for nodes in counts:
            print(f"bench: {nodes} node(s)", flush=True)
            report["results"][str(nodes)] = measure(nodes, repeat)
            print(json.dumps(report["results"][str(nodes)], indent=2), flush=True)
            if variant_nodes and int(variant_nodes) == nodes:
                report["variants"] = {"nodes": nodes, "runs": variants(nodes)}
            save(report, out)  # what is measured so far survives a later failure
    finally:
        lab(max(counts), "absent")
    save(report, out)
    print(f"bench: {out.relative_to(ROOT)}, docs/performance.md", flush=True)
    print(json.dumps(report["ratios"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
