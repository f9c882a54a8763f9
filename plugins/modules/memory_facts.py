#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: read the node's memory health (EDAC, DMI, meminfo, kernel log) and judge it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: memory_facts
short_description: Gather memory health facts (EDAC, DMI, meminfo, kernel log) and judge them
description:
  - Reads the EDAC sysfs tree (C(/sys/devices/system/edac/mc)), C(dmidecode -t 16 -t 17), C(/proc/meminfo),
    the virtualization type and this boot's kernel log, and returns them as the C(memory_health) fact
    together with a list of named checks, each PASS, WARN, FAIL, UNKNOWN or SKIP, and an overall verdict.
  - Only EDAC proves that ECC is on. DMI type 16 says what the board can do, not what it does, and
    hypervisors report C(Multi-bit ECC) for memory that has none; dmidecode alone never passes C(ecc_active).
  - In a virtual machine or a container, EDAC and DMI belong to the hypervisor, so every hardware check is
    SKIP. A check never passes for something that could not be seen.
  - Correctable errors (CE), summed over the EDAC controllers, are judged so. Zero, or more than zero but
    below O(ce_threshold) and not higher than in the baseline, is PASS (the count is in the reason).
    At or above O(ce_threshold) is FAIL. Higher than the baseline on any controller or DIMM (and still
    below the threshold) is WARN, naming by how much and where. Counts lower than the baseline (a reboot
    resets them) are not a rise.
  - Any uncorrectable error (EDAC UE on any controller or DIMM, C(HardwareCorrupted) above 0 in
    C(/proc/meminfo), or an EDAC C(UE)/C(Uncorrected) line in the kernel log) is FAIL.
  - Machine-check lines (C(Machine check events logged), C([Hardware Error])) in this boot's kernel log are
    WARN; no kernel log is SKIP. In a VM or container a clean kernel log is SKIP too, so that such a node's
    verdict is SKIP rather than a PASS for memory that was never seen.
  - The baseline is a JSON file of per-controller and per-DIMM CE/UE counts, without timestamps, so
    a re-run with the same counts is idempotent. With O(update_baseline) it is (re)written when the
    counts differ from the stored ones; that is the only change the module makes, it reports
    C(changed) only then, and in check mode it reports the change without writing.
  - With O(root) other than C(/) (tests), no command runs; C(<root>/dmidecode.txt), C(<root>/virt.txt)
    and C(<root>/kernel.log) stand for the output of C(dmidecode -t 16 -t 17), C(systemd-detect-virt)
    and the kernel log; a missing file means that source is not available.
  - A counter the kernel does not offer is unknown, never zero, and the error checks say UNKNOWN for it on
    bare metal. A host with no virtualisation signal at all (no systemd-detect-virt, no DMI, no CPU flags)
    and no EDAC is UNKNOWN, not FAIL.
options:
  root:
    description: Prefix for C(/sys), C(/proc), C(/run) and O(baseline_path) (tests point it at a fixture tree).
    type: path
    default: /
  expected:
    description:
      - What the node should have. Keys (all optional) C(memory_gb) (total of the DIMMs), C(dimm_count),
        C(dimm_size_gb) (every DIMM), C(speed_mts) (configured speed of every DIMM), C(edac_controllers)
        and C(require_registered_ecc) (default true).
      - A check whose expectation is not given is SKIP, with what was found in the reason.
    type: dict
    default: {}
  ce_threshold:
    description: Correctable errors (all controllers together) at or above this are FAIL.
    type: int
    default: 10
  baseline_path:
    description: Baseline of CE/UE counts, under O(root).
    type: path
    default: /var/lib/gpu-rig/memory_baseline.json
  update_baseline:
    description: Write the baseline when the EDAC counts differ from it (never in check mode).
    type: bool
    default: true
  rasdaemon_db:
    description:
      - rasdaemon's database, under O(root). Its C(mc_event) records outlive reboots, EDAC's counters do not;
        an uncorrected event there is FAIL, corrected events repeated at one address are WARN.
      - An absent database leaves the checks to EDAC and says so in the facts.
    type: path
    default: /var/lib/rasdaemon/ras-mc_event.db
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the memory of a Supermicro H11SSL-i with an EPYC 7401 and 8 x 16 GB RDIMM
  gpu_rig.cluster.memory_facts:
    expected:
      memory_gb: 128
      dimm_count: 8
      dimm_size_gb: 16
      speed_mts: 2133
      edac_controllers: 4
  register: memory

- name: Stop on a failed memory check
  ansible.builtin.assert:
    that: memory.verdict != 'FAIL'
    fail_msg: "{{ memory.checks | selectattr('verdict', 'equalto', 'FAIL') | map(attribute='reason') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: C(memory_health) with keys edac, dmidecode, meminfo, virtualization, kernel_log, checks,
    verdict and baseline.
  type: dict
  returned: always
checks:
  description: One entry per check (ecc_active, edac_controllers, memory_total, dimm_count, dimm_sizes_equal,
    dimm_speed, registered_ecc, uncorrectable_errors, correctable_errors, kernel_log), each with name,
    verdict (PASS, WARN, FAIL, UNKNOWN or SKIP), reason, expected and found.
  type: list
  returned: always
verdict:
  description: The worst verdict of the checks (FAIL, then WARN, then UNKNOWN, then PASS); SKIP only if all are SKIP.
  type: str
  returned: always
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils import edac, host, kernel_log
from ansible_collections.gpu_rig.cluster.plugins.module_utils.dmidecode import parse_dmidecode
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_value, write_atomic
from ansible_collections.gpu_rig.cluster.plugins.module_utils.memory_checks import evaluate, normalize_expected
from ansible_collections.gpu_rig.cluster.plugins.module_utils.rasdaemon import read_events
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import overall

Runner = Callable[[list[str]], tuple[int, str, str]]
Which = Callable[[str], "str | None"]


def resolving(which: Which, run: Runner) -> Runner:
    """run() with argv[0] found by which() (also in /usr/sbin and /sbin); 127 when it is not installed."""
    def runner(argv: list[str]) -> tuple[int, str, str]:
        binary = which(argv[0])
        return run([binary, *argv[1:]]) if binary else (127, "", f"{argv[0]} not installed")

    return runner


def dmidecode_output(root: Path, which: Which | None, run: Runner | None) -> tuple[str | None, str]:
    """The text of `dmidecode -t 16 -t 17`, or None and why not."""
    if which is None or run is None:
        text = read_value(root / "dmidecode.txt")
        return (text, "") if text is not None else (None, f"{root / 'dmidecode.txt'} does not exist")
    binary = which("dmidecode")
    if not binary:
        return None, "dmidecode is not installed"
    rc, out, err = run([binary, "-t", "16", "-t", "17"])
    if rc != 0:
        return None, f"dmidecode failed (rc={rc}): {(err or out).strip().splitlines()[-1:] or ['no output']}"
    return out, ""


def virtualization(root: Path, which: Which | None, run: Runner | None) -> dict[str, Any]:
    """host.classify() over systemd-detect-virt (or <root>/virt.txt in a fixture tree) and the files under root."""
    found = host.signals(root)
    if which is None or run is None:
        return host.classify_plain(read_value(root / "virt.txt"), found)
    return host.classify(*host.ask_systemd_detect_virt(resolving(which, run)), found)


def kernel_log_output(root: Path, which: Which | None, run: Runner | None) -> tuple[str | None, str]:
    if which is None or run is None:
        return kernel_log.read(root / "kernel.log")
    return kernel_log.read(None, resolving(which, run))


def gather(root: Path, which: Which | None = None, run: Runner | None = None,
           rasdaemon_db: str = "/var/lib/rasdaemon/ras-mc_event.db") -> dict[str, Any]:
    """Collect every fact; with which/run None (a fixture root) no command runs."""
    text, reason = dmidecode_output(root, which, run)
    dmi = parse_dmidecode(text) if text is not None else {"arrays": [], "devices": []}
    if text is not None and not dmi["devices"]:
        reason = "dmidecode lists no memory device (no SMBIOS type 17 table)"
    dmi = {"available": bool(dmi["devices"]), "reason": reason, **dmi}
    log_text, log_source = kernel_log_output(root, which, run)
    return {
        "edac": edac.read_edac(root),
        "dmidecode": dmi,
        "meminfo": edac.parse_meminfo(read_value(root / "proc/meminfo") or ""),
        "virtualization": virtualization(root, which, run),
        "kernel_log": edac.scan_kernel_log(log_text, log_source),
        "rasdaemon": read_events(root / rasdaemon_db.lstrip("/")),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/"},
            "expected": {"type": "dict", "default": {}},
            "ce_threshold": {"type": "int", "default": 10},
            "baseline_path": {"type": "path", "default": "/var/lib/gpu-rig/memory_baseline.json"},
            "update_baseline": {"type": "bool", "default": True},
            "rasdaemon_db": {"type": "path", "default": "/var/lib/rasdaemon/ras-mc_event.db"},
        },
        supports_check_mode=True,
    )
    params = module.params
    root = Path(params["root"])
    live = str(root) == "/"

    def run(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})

    def which(name: str) -> str | None:
        return module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin"])

    try:
        expected = normalize_expected(params["expected"] or {})
    except ValueError as error:
        module.fail_json(msg=str(error))
    facts = gather(root, which if live else None, run if live else None, params["rasdaemon_db"])
    baseline_file = root / params["baseline_path"].lstrip("/")
    previous = edac.load_baseline(baseline_file)
    checks = evaluate(facts, expected, params["ce_threshold"], previous)
    current = edac.baseline_of(facts["edac"])
    differs = facts["edac"]["present"] and (
        previous is None or edac.render_baseline(previous) != edac.render_baseline(current))
    changed = bool(differs and params["update_baseline"])
    if changed and not module.check_mode:
        write_atomic(baseline_file, edac.render_baseline(current))
    verdict = overall(checks)
    facts.update({
        "checks": checks,
        "verdict": verdict,
        "baseline": {"path": str(baseline_file), "found": previous is not None, "differs": bool(differs),
                     "written": changed and not module.check_mode},
    })
    module.exit_json(changed=changed, checks=checks, verdict=verdict, ansible_facts={"memory_health": facts})


if __name__ == "__main__":
    main()
