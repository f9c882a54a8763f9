# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write this node's GPU and memory health as Prometheus metrics for node exporter's textfile collector.

Installed by the gpu_rig.cluster.node_metrics role and run by its systemd timer. The parsers are the
collection's own module_utils, installed beside this program (--lib). A saved nvidia-smi -q -x output
(--nvidia-smi-xml) or kernel log (--kernel-log) can be fed instead of the node's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

DEFAULT_LIB = "/usr/local/lib/gpu-rig"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/gpu-rig/metrics.json", help="the collector's settings (JSON)")
    parser.add_argument("--output", help="the .prom file to write atomically (default: stdout)")
    parser.add_argument("--nvidia-smi-xml", help="read this saved nvidia-smi -q -x output instead of running it")
    parser.add_argument("--kernel-log", help="read this saved kernel log instead of journalctl -k -b or dmesg")
    parser.add_argument("--lib", default=DEFAULT_LIB, help="where the collection's module_utils are installed")
    args = parser.parse_args(argv)

    sys.path.insert(0, args.lib)
    node_metrics = importlib.import_module("ansible_collections.gpu_rig.cluster.plugins.module_utils.node_metrics")

    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        config = {}
    except (OSError, ValueError) as exc:
        print(f"gpu-rig-metrics: {args.config} unreadable: {exc}", file=sys.stderr)
        return 2
    if args.nvidia_smi_xml:
        config["nvidia_smi_xml"] = args.nvidia_smi_xml
    if args.kernel_log:
        config["kernel_log_file"] = args.kernel_log
    text = node_metrics.collect(config).render()
    if args.output:
        node_metrics.write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
