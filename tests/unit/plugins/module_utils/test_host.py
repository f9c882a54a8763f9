"""host.classify: bare metal, VM or container from every signal; never bare metal without evidence."""

from __future__ import annotations

import pytest
from conftest import plugin

host = plugin("module_utils", "host")

EPYC_FLAGS = "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov sme sev\n"
GUEST_FLAGS = "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr hypervisor lahf_lm\n"


@pytest.mark.parametrize(("container", "vm", "found", "kind", "name"), [
    ("none\n", "none\n", {}, "bare_metal", "none"),
    ("podman\n", "none\n", {}, "container", "podman"),
    ("none\n", "kvm\n", {}, "vm", "kvm"),
    # systemd-detect-virt's "none" is believed over a DMI table (a bare-metal Supermicro board says Supermicro).
    ("none\n", "none\n", {"dmi_sys_vendor": "QEMU"}, "bare_metal", "none"),
    # No systemd-detect-virt (a Firecracker or KVM guest without systemd): the other signals decide.
    (None, None, {"container_marker": "run/.containerenv"}, "container", "podman"),
    (None, None, {"container_marker": ".dockerenv"}, "container", "docker"),
    (None, None, {"container_marker": "run/systemd/container", "container_name": "lxc"}, "container", "lxc"),
    (None, None, {"dmi_sys_vendor": "QEMU", "dmi_product_name": "Standard PC (Q35 + ICH9, 2009)"}, "vm", "qemu"),
    (None, None, {"dmi_sys_vendor": "Amazon EC2", "dmi_product_name": "m5.large"}, "vm", "amazon"),
    (None, None, {"sys_hypervisor_type": "xen"}, "vm", "xen"),
    (None, None, {"cpu_hypervisor_flag": True}, "vm", "vm-other"),
    (None, None, {"dmi_sys_vendor": "Supermicro", "dmi_product_name": "H11SSL-i", "cpu_hypervisor_flag": False},
     "bare_metal", "none"),
    (None, None, {"dmi_sys_vendor": "Supermicro"}, "unknown", "unknown"),
    (None, None, {}, "unknown", "unknown"),
])
def test_classify(container, vm, found, kind, name):
    result = host.classify(container, vm, found)
    assert (result["kind"], result["type"]) == (kind, name), result
    assert result["is_virtual"] is (kind in ("vm", "container"))


@pytest.mark.parametrize(("plain", "kind"), [("podman\n", "container"), ("kvm\n", "vm"), ("none\n", "bare_metal"),
                                             (None, "unknown")])
def test_classify_plain_systemd_detect_virt(plain, kind):
    assert host.classify_plain(plain)["kind"] == kind


def test_signals_read_a_firecracker_guest_without_systemd(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\n" + GUEST_FLAGS)
    found = host.signals(tmp_path)
    assert found["cpu_hypervisor_flag"] is True
    assert host.classify(None, None, found)["kind"] == "vm"


def test_signals_of_bare_metal(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(EPYC_FLAGS)
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("Supermicro\n")
    (dmi / "product_name").write_text("Super Server\n")
    assert host.classify(None, None, host.signals(tmp_path))["kind"] == "bare_metal"


@pytest.mark.parametrize(("facts", "kind"), [
    ({"virtualization_role": "guest", "virtualization_type": "podman"}, "container"),
    ({"virtualization_role": "guest", "virtualization_type": "container"}, "container"),
    ({"virtualization_role": "guest", "virtualization_type": "kvm"}, "vm"),
    ({"virtualization_role": "host", "virtualization_type": "kvm"}, "bare_metal"),
    ({"virtualization_role": "NA", "virtualization_type": "NA"}, "unknown"),
    ({"virtualization_tech_guest": ["container", "podman"]}, "container"),
    ({}, "unknown"),
])
def test_kind_of_ansible_facts(facts, kind):
    assert host.kind_of_facts(facts) == kind


def test_every_container_type_of_the_roles_is_in_the_one_list():
    # The lists the roles once kept each on their own, now read from here.
    assert {"container", "docker", "podman", "lxc", "systemd-nspawn", "containerd", "wsl"} <= host.CONTAINER_TYPES
    assert not host.CONTAINER_TYPES & host.VM_TYPES
