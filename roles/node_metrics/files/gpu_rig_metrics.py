# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write this node's GPU and memory health as Prometheus metrics for node exporter's textfile collector.

Installed by the gpu_rig.cluster.node_metrics role and run by its systemd timer. The parsers are the
collection's own module_utils, installed beside this program (--lib). A saved nvidia-smi -q -x output
(--nvidia-smi-xml) or kernel log (--kernel-log) can be fed instead of the node's.

With --slurm-health-check it is Slurm's HealthCheckProgram (slurmd runs it as root at its start and every
HealthCheckInterval): it judges the node from the same readings (node_health) and drains the node in Slurm
with the problems as the reason, or resumes a node it drained once they are gone. It never judges what it
could not see (a container or VM without a GPU: SKIP), and leaves a drain of another reason alone. It judges
the node's own nvidia-smi and kernel log; a saved output only when its own command line names one. Each run
is recorded in /var/lib/gpu-rig/slurm_health.json.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_LIB = "/usr/local/lib/gpu-rig"
PACKAGE = "ansible_collections.gpu_rig.cluster.plugins.module_utils"
# The reason this program gives a node it drains; only nodes drained with it are resumed by it.
DRAIN_PREFIX = "gpu-rig health check"
# slurmd kills its HealthCheckProgram after 60 s: each command the check runs gets at most this many seconds,
# so that an nvidia-smi that hangs (as it does when a GPU stops answering) is reported, not killed with it.
HEALTH_CHECK_COMMAND_TIMEOUT = 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/gpu-rig/metrics.json", help="the collector's settings (JSON)")
    parser.add_argument("--output", help="the .prom file to write atomically (default: stdout)")
    parser.add_argument("--nvidia-smi-xml", help="read this saved nvidia-smi -q -x output instead of running it")
    parser.add_argument("--kernel-log", help="read this saved kernel log instead of journalctl -k -b or dmesg")
    parser.add_argument("--lib", default=DEFAULT_LIB, help="where the collection's module_utils are installed")
    parser.add_argument("--slurm-health-check", action="store_true",
                        help="judge the node and drain or resume it in Slurm (HealthCheckProgram)")
    args = parser.parse_args(argv)

    sys.path.insert(0, args.lib)
    node_metrics = importlib.import_module(f"{PACKAGE}.node_metrics")

    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        config = {}
    except (OSError, ValueError) as exc:
        print(f"gpu-rig-metrics: {args.config} unreadable: {exc}", file=sys.stderr)
        return 2
    if args.slurm_health_check:
        # The health check drains the real node: it judges the node's own nvidia-smi and kernel log, and a
        # saved output only when its own command line names one (the settings' saved outputs are the metrics').
        config.pop("nvidia_smi_xml", None)
        config.pop("kernel_log_file", None)
    if args.nvidia_smi_xml:
        config["nvidia_smi_xml"] = args.nvidia_smi_xml
    if args.kernel_log:
        config["kernel_log_file"] = args.kernel_log
    if args.slurm_health_check:
        kernel_log = importlib.import_module(f"{PACKAGE}.kernel_log")
        timeout = int(config.get("command_timeout") or HEALTH_CHECK_COMMAND_TIMEOUT)
        runner = functools.partial(kernel_log.run, timeout=timeout)
        return slurm_health_check(node_metrics.collect(config, runner), config, node_metrics, runner)
    text = node_metrics.collect(config).render()
    if args.output:
        node_metrics.write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def slurm_health_check(metrics: Any, config: dict[str, Any], node_metrics: Any, run: Any) -> int:
    """Judge the node, drain or resume it in Slurm, record what was done; 1 when Slurm could not be asked."""
    node_health = importlib.import_module(f"{PACKAGE}.node_health")
    slurm = importlib.import_module(f"{PACKAGE}.slurm")
    result = node_health.judge(metrics, saved_output=bool(config.get("nvidia_smi_xml")))
    name = str(config.get("slurm_node_name") or socket.gethostname().split(".")[0])
    scontrol = str(config.get("scontrol") or "/usr/bin/scontrol")
    record: dict[str, Any] = {"time": round(time.time(), 3), "node": name, **result, "action": "", "note": ""}
    rc, out, err = run([scontrol, "show", "node", name, "-o"])
    if rc != 0:
        record["note"] = f"scontrol show node {name} failed (rc {rc}): {(err or out).strip()}"
        code = 1
    else:
        failing = None if result["verdict"] == "SKIP" else result["problems"]
        act = slurm.drain_action(failing, slurm.node_state(out), DRAIN_PREFIX, f"{DRAIN_PREFIX}: OK")
        record.update(action=act["action"], note=act["reason"])
        code = 0
        if act["action"]:
            argv = [scontrol, "update", f"nodename={name}", f"state={act['action']}"]
            if act["action"] == "drain":
                argv.append(f"reason={act['reason']}")
            rc, out, err = run(argv)
            if rc != 0:
                record["note"] = f"scontrol update failed (rc {rc}): {(err or out).strip()}"
                code = 1
    state_dir = Path(config.get("state_dir") or "/var/lib/gpu-rig")
    node_metrics.write_atomic(state_dir / "slurm_health.json", json.dumps(record, indent=2) + "\n")
    print(f"{DRAIN_PREFIX} on {name}: {result['verdict']} {result['reason']} {record['action']} {record['note']}"
          .rstrip())
    return code


if __name__ == "__main__":
    sys.exit(main())
