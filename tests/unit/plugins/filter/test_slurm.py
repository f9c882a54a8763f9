"""The Slurm filters on Slurm's real outputs (tests/fixtures/slurm, captured from Debian 12's slurm-wlm 22.05.8;
the README there says how)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

slurm = plugin("filter", "slurm")
SLURM = FIXTURES / "slurm"


def text(name: str) -> str:
    return (SLURM / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("model", "kind"), [("NVIDIA GeForce RTX 3090", "rtx3090"), ("NVIDIA H200", "h200"),
                                             ("NVIDIA RTX A6000", "rtxa6000"), ("", "")])
def test_gpu_type(model: str, kind: str) -> None:
    assert slurm.slurm_gpu_type(model) == kind


@pytest.mark.parametrize(("minors", "files"), [
    ([0, 1, 2, 3], "/dev/nvidia[0-3]"), ([3, 0, 2], "/dev/nvidia[0,2-3]"), ([1], "/dev/nvidia1"), ([], ""),
    ([0, 1, 4, 5, 7], "/dev/nvidia[0-1,4-5,7]")])
def test_device_files(minors: list[int], files: str) -> None:
    assert slurm.slurm_device_files(minors) == files


def test_node_from_slurmd_c_and_the_inventory() -> None:
    node = slurm.slurm_node(text("slurmd_C_22.05.8.txt"), {}, "rtx3090", 4, 2048)
    assert node == {"name": "slexp", "cpus": 2, "boards": 1, "sockets": 1, "cores": 2, "threads": 1,
                    "real_memory": 24105 - 2048, "gpus": 4, "gpu_type": "rtx3090", "files": "/dev/nvidia[0-3]",
                    "source": "inventory"}


def test_node_offers_the_gpus_gpu_health_saw() -> None:
    report = {"facts": {"available": True, "reason": "nvidia-smi -q -x",
                        "gpus": [{"minor_number": 0}, {"minor_number": 2}, {"minor_number": 3}]}}
    node = slurm.slurm_node(text("slurmd_C_22.05.8.txt"), report, "rtx3090", 4, 2048)
    assert (node["gpus"], node["files"], node["source"]) == (3, "/dev/nvidia[0,2-3]", "gpu_health")
    # A report of a saved output (gpu_health_xml_file) says nothing of this node's GPUs.
    report["facts"]["reason"] = "parsed /var/tmp/saved-nvidia-smi.xml"
    node = slurm.slurm_node(text("slurmd_C_22.05.8.txt"), report, "rtx3090", 4, 2048)
    assert (node["gpus"], node["source"]) == (4, "inventory")


def test_node_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="slurmd -C gave no CPUs"):
        slurm.slurm_node("slurmd: error: something else", {}, "rtx3090", 4, 0)
    with pytest.raises(ValueError, match="leaves nothing"):
        slurm.slurm_node(text("slurmd_C_22.05.8.txt"), {}, "rtx3090", 4, 100000)


def test_node_states() -> None:
    idle = slurm.slurm_node_state(text("show_node_idle_22.05.8.txt"))
    assert (idle["state"], idle["drain"], idle["reason"], idle["gres"], idle["busy"]) == (
        "IDLE", False, "", "gpu:rtx3090:4", False)
    drained = slurm.slurm_node_state(text("show_node_drained_22.05.8.txt"))
    assert drained["state"] == "IDLE+DRAIN" and drained["drain"]
    assert drained["reason"] == "gpu_health FAIL: gpu_count: expected 4, found 1"
    draining = slurm.slurm_node_state(text("show_node_draining_job_22.05.8.txt").splitlines()[0])
    assert (draining["base"], draining["drain"], draining["busy"], draining["reason"]) == (
        "MIXED", True, True, "gpu_rig reboot")


FAIL = {"verdict": "FAIL", "checks": [{"name": "gpu_count", "gpu": None, "verdict": "FAIL",
                                       "reason": 'expected 4, found "1"'},
                                      {"name": "pcie_width", "gpu": 2, "verdict": "FAIL", "reason": "x8, not x16"},
                                      {"name": "driver", "gpu": None, "verdict": "PASS", "reason": "580"}]}


def test_health_action_drains_a_fail_once_and_resumes_only_its_own_drain() -> None:
    idle = slurm.slurm_node_state(text("show_node_idle_22.05.8.txt"))
    act = slurm.slurm_health_action(FAIL, idle, "gpu_health FAIL")
    assert act == {"action": "drain",
                   "reason": "gpu_health FAIL: gpu_count: expected 4, found '1'; pcie_width[GPU 2]: x8, not x16"}
    already = dict(idle, drain=True, reason=act["reason"])
    assert slurm.slurm_health_action(FAIL, already, "gpu_health FAIL")["action"] == ""
    drained = slurm.slurm_node_state(text("show_node_drained_22.05.8.txt"))
    assert slurm.slurm_health_action({"verdict": "SKIP"}, drained, "gpu_health FAIL")["action"] == "resume"
    # A drain an admin made for another reason is left alone.
    theirs = slurm.slurm_node_state(text("show_node_draining_job_22.05.8.txt").splitlines()[0])
    assert slurm.slurm_health_action({"verdict": "PASS"}, theirs, "gpu_health FAIL")["action"] == ""
    # ... also when the node FAILs: the other drain (a pending reboot) keeps its reason and its owner.
    kept = slurm.slurm_health_action(FAIL, theirs, "gpu_health FAIL")
    assert kept["action"] == "" and "drained for another reason (gpu_rig reboot)" in kept["reason"]
    assert slurm.slurm_health_action(None, idle, "gpu_health FAIL")["action"] == ""


def test_debian13_slurm_24_11_reads_the_same() -> None:
    node = slurm.slurm_node(text("slurmd_C_24.11.5.txt"), {}, "rtx3090", 4, 2048)
    assert (node["name"], node["cpus"], node["real_memory"]) == ("slexp13", 2, 24105 - 2048)
    state = slurm.slurm_node_state(text("show_node_idle_24.11.5.txt"))
    assert (state["state"], state["gres"], state["drain"]) == ("IDLE", "gpu:rtx3090:4", False)
