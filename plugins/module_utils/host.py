"""What kind of host this is: bare metal, a virtual machine or a container, from every signal there is.

One list of container and VM types for the whole collection; the roles read it through the
``gpu_rig.cluster.host_kind`` filter, the modules through classify().
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_value

# systemd-detect-virt --container names (and Ansible's virtualization_type values for containers).
CONTAINER_TYPES = frozenset({
    "container", "container-other", "containerd", "docker", "lxc", "lxc-libvirt", "openvz", "podman",
    "pouch", "proot", "rkt", "systemd-nspawn", "wsl",
})
# systemd-detect-virt --vm names.
VM_TYPES = frozenset({
    "acrn", "amazon", "apple", "bhyve", "bochs", "google", "hyperv", "kvm", "microsoft", "oracle", "parallels",
    "powervm", "qemu", "qnx", "sre", "uml", "virtualbox", "vm-other", "vmware", "xen", "zvm",
})
# DMI sys_vendor / product_name words of hypervisors, and the systemd-detect-virt name each stands for.
DMI_VM_HINTS = (
    ("qemu", "qemu"), ("kvm", "kvm"), ("vmware", "vmware"), ("virtualbox", "oracle"), ("innotek", "oracle"),
    ("xen", "xen"), ("bochs", "bochs"), ("parallels", "parallels"), ("bhyve", "bhyve"),
    ("virtual machine", "microsoft"), ("amazon ec2", "amazon"), ("google compute engine", "google"),
    ("openstack", "kvm"), ("firecracker", "vm-other"), ("cloud hypervisor", "vm-other"),
)
CONTAINER_MARKERS = ("run/.containerenv", ".dockerenv", "run/systemd/container")


def cpu_has_hypervisor_flag(cpuinfo: str | None) -> bool | None:
    """Whether /proc/cpuinfo's flags include 'hypervisor' (set by every x86 hypervisor); None when unknown."""
    if not cpuinfo:
        return None
    flags = [line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
             if re.match(r"^flags\s*:", line)]
    if not flags:
        return None
    return "hypervisor" in flags[0]


def ask_systemd_detect_virt(runner: Callable[[list[str]], tuple[int, str, str]]) -> tuple[str | None, str | None]:
    """The answers of ``systemd-detect-virt --container`` and ``--vm`` for classify().

    runner(argv) returns (rc, stdout, stderr), 127 for a missing program. Exit 1 with "none" is a clear no;
    any other failure is no answer (None), which leaves the decision to the other signals.
    """
    answers = []
    for flag in ("--container", "--vm"):
        rc, out, _err = runner(["systemd-detect-virt", flag])
        answers.append(out if out.strip() and (rc == 0 or out.strip() == "none") else None)
    return answers[0], answers[1]


def signals(root: Path) -> dict[str, Any]:
    """Every file-based signal under root (a fixture tree in tests, / on a node)."""
    marker = next((m for m in CONTAINER_MARKERS if (root / m).exists()), None)
    container_name = read_value(root / "run/systemd/container") if marker == "run/systemd/container" else None
    hypervisor_type = read_value(root / "sys/hypervisor/type")
    return {
        "container_marker": marker,
        "container_name": container_name,
        "cpu_hypervisor_flag": cpu_has_hypervisor_flag(read_value(root / "proc/cpuinfo")),
        "dmi_sys_vendor": read_value(root / "sys/class/dmi/id/sys_vendor"),
        "dmi_product_name": read_value(root / "sys/class/dmi/id/product_name"),
        "sys_hypervisor_type": hypervisor_type or None,
    }


def classify(detect_container: str | None = None, detect_vm: str | None = None,
             found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Bare metal, VM or container, with the evidence.

    detect_container/detect_vm are the outputs of ``systemd-detect-virt --container`` and ``--vm``
    (None when the command is missing or failed for another reason than 'none'); found is signals().
    Returns kind ('container', 'vm', 'bare_metal' or 'unknown'), type (e.g. podman, kvm, none), is_virtual
    and source. A host counts as bare metal only on positive evidence: systemd-detect-virt saying none,
    or a DMI table naming a real vendor with no hypervisor flag set.
    """
    found = found or {}
    container = (detect_container or "").strip()
    vm = (detect_vm or "").strip()
    if container and container != "none":
        return _kind("container", container, "systemd-detect-virt --container")
    if vm and vm != "none":
        return _kind("vm", vm, "systemd-detect-virt --vm")
    if container == "none" and vm == "none":
        return _kind("bare_metal", "none", "systemd-detect-virt")
    # No answer from systemd-detect-virt (not installed, no systemd): read every other signal.
    if found.get("container_marker"):
        marker = found["container_marker"]
        kind = {"run/.containerenv": "podman", ".dockerenv": "docker"}.get(marker) or found.get("container_name")
        return _kind("container", kind or "container-other", f"/{marker}")
    dmi = f"{found.get('dmi_sys_vendor') or ''} {found.get('dmi_product_name') or ''}".lower()
    for needle, name in DMI_VM_HINTS:
        if needle in dmi:
            return _kind("vm", name, "DMI vendor/product")
    if found.get("sys_hypervisor_type"):
        return _kind("vm", found["sys_hypervisor_type"], "/sys/hypervisor/type")
    if found.get("cpu_hypervisor_flag"):
        return _kind("vm", "vm-other", "CPU flag hypervisor")
    if dmi.strip() and found.get("cpu_hypervisor_flag") is False:
        return _kind("bare_metal", "none", "DMI vendor/product and no hypervisor CPU flag")
    return _kind("unknown", "unknown", "no signal (no systemd-detect-virt answer, container marker, DMI or CPU flags)")


def _kind(kind: str, name: str, source: str) -> dict[str, Any]:
    return {"kind": kind, "type": name, "is_virtual": kind in ("container", "vm"), "source": source}


def kind_of_facts(facts: dict[str, Any]) -> str:
    """The kind of host from Ansible's facts (virtualization_role, _type, _tech_guest): container, vm,
    bare_metal or unknown. The roles use it (through the host_kind filter) to leave out what a container cannot do."""
    role = str(facts.get("virtualization_role") or "")
    kind = str(facts.get("virtualization_type") or "")
    tech_guest = {str(t) for t in facts.get("virtualization_tech_guest") or []}
    if (role == "guest" and kind in CONTAINER_TYPES) or tech_guest & CONTAINER_TYPES:
        return "container"
    if role == "guest" or tech_guest & VM_TYPES:
        return "vm"
    if role == "host":
        return "bare_metal"
    return "unknown"  # Ansible's "NA": nothing detected, which is no proof of bare metal


def classify_plain(detect: str | None, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """classify() from the output of plain ``systemd-detect-virt`` (a container name, a VM name or none)."""
    answer = (detect or "").strip().splitlines()[0].strip() if (detect or "").strip() else None
    if answer in CONTAINER_TYPES:
        return classify(answer, None, found)
    if answer == "none":
        return classify("none", "none", found)
    return classify(None, answer, found)
