#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: set NVIDIA GPU power limits (and optional clock locks) where they differ."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_power_limit
short_description: Apply per-GPU power limits now, where the live value differs
description:
  - Reads every GPU's current, minimum and maximum power limit with
    C(nvidia-smi --query-gpu=index,pci.bus_id,power.limit,power.min_limit,power.max_limit).
  - Fails, before applying anything, when a target is outside a GPU's min..max, naming the GPU and its range.
  - Applies C(nvidia-smi -i N -pl W) only to GPUs whose limit differs by more than 0.5 W; check mode
    reports what would change.
  - Without nvidia-smi or a driver it changes nothing and says why (C(skipped_reason)).
  - Limits do not survive a reboot; the gpu_power role's boot unit re-applies them.
options:
  limits:
    description: Target limit in watts per GPU index (a dict index -> watts).
    type: dict
    required: true
  clock_lock_mhz:
    description: Lock GPU clocks to "min,max" MHz with C(nvidia-smi -lgc); empty leaves clocks alone.
    type: str
    default: ""
  nvidia_smi:
    description: The nvidia-smi binary.
    type: str
    default: nvidia-smi
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Cap four RTX 3090s at 280 W
  gpu_rig.cluster.gpu_power_limit:
    limits: {0: 280, 1: 280, 2: 280, 3: 280}
"""

RETURN = r"""
gpus:
  description: Per GPU index, bus id, limit before and after, min and max.
  type: list
  returned: when GPUs were found
skipped_reason:
  description: Why nothing was done (no nvidia-smi, no driver).
  type: str
  returned: when nothing could be read
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import BUS_ID, number, parse_query_csv

QUERY = "index,pci.bus_id,power.limit,power.min_limit,power.max_limit"


def parse_limits(csv_text: str) -> list[dict[str, Any]]:
    """Parse the QUERY fields as printed with `--format=csv,nounits`: the header must name them ([N/A] is None).

    Each row must have the shape of these fields (an integer index, a PCI bus id), so the output of
    another query is refused rather than read as power limits.
    """
    gpus = []
    for row in parse_query_csv(csv_text, QUERY.split(","), require_header=True):
        if not isinstance(row["index"], int) or not BUS_ID.match(str(row["pci.bus_id"] or "")):
            raise ValueError(f"unexpected nvidia-smi row {row!r}: not index,pci.bus_id,power.limit,...")

        def watts(value: Any) -> float | None:
            found = number(str(value)) if value is not None else None  # "280.00" or "280.00 W"
            return None if found is None else float(found)

        gpus.append({"index": row["index"], "bus_id": row["pci.bus_id"], "limit_w": watts(row["power.limit"]),
                     "min_w": watts(row["power.min_limit"]), "max_w": watts(row["power.max_limit"])})
    return gpus


def out_of_range(gpus: list[dict[str, Any]], limits: dict[int, float]) -> list[str]:
    problems = []
    known = {g["index"]: g for g in gpus}
    for index, target in sorted(limits.items()):
        gpu = known.get(index)
        if gpu is None:
            problems.append(f"GPU {index}: not present (found indexes {sorted(known)})")
        elif gpu["min_w"] is None or gpu["max_w"] is None:
            problems.append(f"GPU {index} ({gpu['bus_id']}): the driver reports no power limit range")
        elif not gpu["min_w"] <= target <= gpu["max_w"]:
            problems.append(
                f"GPU {index} ({gpu['bus_id']}): {target:g} W is outside {gpu['min_w']:g}-{gpu['max_w']:g} W")
    return problems


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "limits": {"type": "dict", "required": True},
            "clock_lock_mhz": {"type": "str", "default": ""},
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
        },
        supports_check_mode=True,
    )
    smi = module.get_bin_path(module.params["nvidia_smi"])
    if smi is None:
        module.exit_json(changed=False, skipped_reason=f"{module.params['nvidia_smi']} is not installed")
    rc, out, err = module.run_command([smi, f"--query-gpu={QUERY}", "--format=csv,nounits"])
    if rc != 0:
        module.exit_json(changed=False, skipped_reason=f"nvidia-smi exited {rc}: {(out + err).strip()}")
    try:
        gpus = parse_limits(out)
        limits = {int(k): float(v) for k, v in module.params["limits"].items()}
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    problems = out_of_range(gpus, limits)
    if problems:
        module.fail_json(msg="power limits out of range, nothing applied: " + "; ".join(problems), gpus=gpus)
    changed = False
    for gpu in gpus:
        target = limits.get(gpu["index"])
        gpu["target_w"] = target
        if target is None or abs((gpu["limit_w"] or 0) - target) <= 0.5:
            continue
        changed = True
        if not module.check_mode:
            rc, out, err = module.run_command([smi, "-i", str(gpu["index"]), "-pl", f"{target:g}"])
            if rc != 0:
                module.fail_json(msg=f"nvidia-smi -i {gpu['index']} -pl {target:g} failed: {(out + err).strip()}",
                                 gpus=gpus)
    clocks = module.params["clock_lock_mhz"]
    # nvidia-smi offers no read-back of a clock lock in every driver; applying it again is harmless.
    if clocks and not module.check_mode:
        rc, out, err = module.run_command([smi, "-lgc", clocks])
        if rc != 0:
            module.fail_json(msg=f"nvidia-smi -lgc {clocks} failed: {(out + err).strip()}", gpus=gpus)
    module.exit_json(changed=changed, gpus=gpus)


if __name__ == "__main__":
    main()
