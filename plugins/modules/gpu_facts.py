#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: read NVIDIA GPU health facts from nvidia-smi and judge them against the inventory."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Gather NVIDIA GPU facts (nvidia-smi -q -x, sysfs, kernel log) and check them
description:
  - Runs C(nvidia-smi -q -x) (or parses O(xml_file)) and returns, per GPU, the name, UUID, PCI bus id,
    NUMA node, persistence mode, PCIe generation and width, power limits, temperatures, ECC, retired
    pages, remapped rows, the recovery action and active clock event (throttle) reasons, plus the NVIDIA
    Xid events of the current boot's kernel log and the NVRM lines of a GPU that is lost, fell off the bus
    or failed to initialise without an Xid.
  - Judges them against O(expected) and returns a list of checks, each PASS, WARN, FAIL, UNKNOWN or SKIP,
    and an overall verdict (the worst; UNKNOWN above PASS; SKIP only when every check is SKIP). Xids are
    judged by the immediate action NVIDIA's Xid catalog gives (a GPU reset or a reboot is FAIL; Xid 154 by
    the recovery action its line names). Never changes anything.
  - Parses both generations of nvidia-smi XML names (C(power_readings)/C(enforced_power_limit) and
    C(gpu_power_readings)/C(current_power_limit); C(clocks_throttle_reasons) and C(clocks_event_reasons);
    absolute temperature thresholds and the T.Limit-relative ones of newer drivers). Values reported as
    C(N/A), C([N/A]) or C(Not Supported) become null.
  - When nvidia-smi is missing or fails, every check is SKIP with its message, unless
    C(gpus_expected) in O(expected) is true on a host that is neither a container nor a VM without NVIDIA
    PCI devices; then the gpu_count check FAILs, the kernel-log checks run, and the others are UNKNOWN.
options:
  nvidia_smi:
    description: Name or path of the nvidia-smi binary.
    type: str
    default: nvidia-smi
  xml_file:
    description: Parse this saved C(nvidia-smi -q -x) output instead of running nvidia-smi.
    type: path
  root:
    description:
      - Prefix for C(/sys/bus/pci/devices/*/numa_node), C(/sys/module/nvidia/version),
        C(/proc/driver/nvidia/version) and the container markers (tests point it at a fixture tree).
    type: path
    default: /
  kernel_log_file:
    description:
      - Read the kernel log from this file. Without it, C(journalctl -k -b --no-pager) is used, then
        C(dmesg); when neither gives a log, the kernel-log checks are UNKNOWN (SKIP in a container or VM).
    type: path
  expected:
    description:
      - What the inventory says about this node. Keys (all optional) C(gpu_count) (int), C(gpu_model)
        (str; matches the product name exactly or as its trailing words, so C(RTX 3090) does not match
        C(RTX 3090 Ti)), C(driver_branch) (str, e.g. C(580)), C(driver_version) (exact), C(pcie_widths)
        (dict of PCI bus id to width, or list by GPU index), C(pcie_gen_max) (int, the platform's top
        PCIe generation), C(power_limit_w) (number), C(persistence) (bool, default true) and
        C(gpus_expected) (bool).
    type: dict
    default: {}
  temperature_margin_c:
    description: WARN when a GPU is within this many degrees of its slowdown temperature (FAIL at or above it).
    type: int
    default: 5
  ecc_correctable_warn:
    description:
      - WARN at or above this many correctable memory errors since the last GPU reset, on GPUs with ECC.
      - NVIDIA publishes no threshold for correctable errors; uncorrectable ones, retirement and remapping limits
        follow NVIDIA's guidance (see the gpu_health role's README).
    type: int
    default: 100
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the GPUs against the inventory
  gpu_rig.cluster.gpu_facts:
    expected:
      gpus_expected: true
      gpu_count: 4
      gpu_model: NVIDIA GeForce RTX 3090
      driver_branch: "580"
      pcie_gen_max: 3
      pcie_widths: {"0000:01:00.0": 16, "0000:21:00.0": 16, "0000:41:00.0": 8, "0000:61:00.0": 16}
      power_limit_w: 280
  register: gpu

- name: Stop on a failed check
  ansible.builtin.assert:
    that: gpu.ansible_facts.gpu_health.verdict != 'FAIL'
    fail_msg: "{{ gpu.ansible_facts.gpu_health.checks | selectattr('verdict', 'equalto', 'FAIL') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: C(gpu_health) with available, reason, driver_version, cuda_version, kernel_module_version,
    gpus (index, name, uuid, serial, bus_id, pci_address, minor_number, vbios, architecture, numa_node,
    persistence, pcie, power, temperature, ecc, retired_pages, remapped_rows, clock_event_reasons,
    clock_events_active), xid_events (each with the action NVIDIA's Xid catalog gives), gpu_lost_events
    (NVRM lines of a GPU lost or failed without an Xid), kernel_log, checks and verdict.
  type: dict
  returned: always
checks:
  description: Each check as C({name, gpu, verdict, reason, expected, found}); C(gpu) is the index or null.
  type: list
  returned: always
verdict:
  description: PASS, WARN, FAIL, UNKNOWN or SKIP; the worst of the checks (SKIP only when all are SKIP).
  type: str
  returned: always
"""

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils import host, kernel_log, nvidia_smi, nvidia_sysfs
from ansible_collections.gpu_rig.cluster.plugins.module_utils.gpu_checks import evaluate
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi_xml import parse_smi_xml
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import overall
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid import parse_gpu_lost, parse_xids


def environment(root: Path) -> dict[str, Any]:
    """Container and virtualisation markers (systemd-detect-virt only runs when root is /)."""
    detect_container = detect_vm = None
    if str(root) == "/":
        detect_container, detect_vm = host.ask_systemd_detect_virt(lambda argv: kernel_log.run(argv, timeout=10))
    virt = host.classify(detect_container, detect_vm, host.signals(root))
    return {
        "container": virt["type"] if virt["kind"] == "container" else None,
        "vm": virt["type"] if virt["kind"] == "vm" else None,
        "virtualization": virt,
        "nvidia_pci_gpus": nvidia_sysfs.nvidia_pci_gpus(root),
    }


def gather(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Collect the facts (reading the host) and the environment markers."""
    root = Path(params["root"])
    env = environment(root)
    facts: dict[str, Any] = {"available": False, "reason": None, "driver_version": None, "cuda_version": None,
                             "gpus": [], "kernel_module_version": nvidia_sysfs.kernel_module_version(root),
                             "pci_nvidia_gpus": env["nvidia_pci_gpus"]}
    if params["xml_file"]:
        text = Path(params["xml_file"]).read_text(encoding="utf-8")
        facts.update(parse_smi_xml(text), available=True, reason=f"parsed {params['xml_file']}")
    else:
        rc, out, err = kernel_log.run([params["nvidia_smi"], "-q", "-x"])
        if rc != 0:
            module_state = facts["kernel_module_version"] or "no nvidia kernel module loaded"
            facts["reason"] = f"{nvidia_smi.failure(rc, out, err)} ({module_state})"
        else:
            try:
                facts.update(parse_smi_xml(out), available=True, reason="nvidia-smi -q -x")
            except ET.ParseError as exc:
                facts["reason"] = f"nvidia-smi -q -x gave output that is not its XML: {exc}"
    for gpu in facts["gpus"]:
        gpu["numa_node"] = nvidia_sysfs.numa_node(root, gpu["pci_address"])
    if facts["available"] or params["expected"].get("gpus_expected"):
        log, source = kernel_log.read(params["kernel_log_file"])
        facts["kernel_log"] = source
        facts["xid_events"] = parse_xids(log, facts["gpus"]) if log is not None else None
        facts["gpu_lost_events"] = parse_gpu_lost(log, facts["gpus"]) if log is not None else None
    else:
        facts["kernel_log"] = "not read: no GPUs available or expected"
        facts["xid_events"] = facts["gpu_lost_events"] = None
    return facts, env


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
            "xml_file": {"type": "path"},
            "root": {"type": "path", "default": "/"},
            "kernel_log_file": {"type": "path"},
            "expected": {"type": "dict", "default": {}},
            "temperature_margin_c": {"type": "int", "default": 5},
            "ecc_correctable_warn": {"type": "int", "default": 100},
        },
        supports_check_mode=True,
    )
    params = module.params
    params["expected"] = params["expected"] or {}
    try:
        facts, env = gather(params)
        checks = evaluate(facts, params["expected"], params["temperature_margin_c"], env,
                          params["ecc_correctable_warn"])
    except (OSError, ET.ParseError, ValueError, TypeError) as exc:
        module.fail_json(msg=f"gpu_facts could not gather or judge GPU facts: {exc}")
    verdict = overall(checks)
    facts.update(checks=checks, verdict=verdict, environment=env)
    module.exit_json(changed=False, ansible_facts={"gpu_health": facts}, checks=checks, verdict=verdict)


if __name__ == "__main__":
    main()
