"""gpu_work: GPU work seen in /proc (a built tree) and in Docker's real `docker inspect` output."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import FIXTURES, plugin

gw = plugin("module_utils", "gpu_work")
INSPECT = FIXTURES / "docker" / "inspect_gpujob_and_gpus_all.json"
# The cgroup of a process in a Docker container on a cgroup v1 host, as read here (podman > docker > sleep).
CGROUP_DOCKER = ("9:name=systemd:/libpod_parent/libpod-174a9ccabb9017513b196a562807f559b04eb4de0a766f6f60d61f245bd6ef5a"
                 "/docker/d857b39efd88690b642c84c18becc5aa712533b631147333da23825b8300eb6f\n")


def proc_entry(proc: Path, pid: int, comm: str, fds: dict[int, str], cgroup: str = "0::/user.slice\n") -> None:
    base = proc / str(pid)
    (base / "fd").mkdir(parents=True)
    (base / "comm").write_text(comm + "\n")
    (base / "cgroup").write_text(cgroup)
    for fd, target in fds.items():
        os.symlink(target, base / "fd" / str(fd))


def test_processes_holding_nvidia_nodes_are_found_with_their_container(tmp_path):
    proc = tmp_path / "proc"
    proc_entry(proc, 100, "python3", {0: "/dev/null", 3: "/dev/nvidiactl", 4: "/dev/nvidia0", 5: "/dev/nvidia-uvm"})
    proc_entry(proc, 200, "sleep", {3: "/dev/nvidia0"}, CGROUP_DOCKER)
    proc_entry(proc, 300, "nvidia-persistenced", {3: "/dev/nvidiactl"})
    proc_entry(proc, 400, "bash", {0: "/dev/pts/0", 1: "socket:[1234]"})
    (proc / "self").mkdir()
    found, unknown = gw.holders(proc, me=1)
    assert unknown == []
    assert [(h.pid, h.command, h.devices, h.container[:12]) for h in found] == [
        (100, "python3", ["/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"], ""),
        (200, "sleep", ["/dev/nvidia0"], "d857b39efd88"),
    ]
    assert found[1].describe() == "sleep (pid 200 in container d857b39efd88) holds /dev/nvidia0"


def test_nothing_holding_the_devices_is_idle_and_an_unreadable_proc_is_unknown(tmp_path):
    proc = tmp_path / "proc"
    proc_entry(proc, 100, "bash", {0: "/dev/null"})
    work = gw.Work()
    work.processes, work.unknown = gw.holders(proc, me=1)
    assert work.verdict == "idle" and work.reasons() == []
    missing, unknown = gw.holders(tmp_path / "nope", me=1)
    assert missing == [] and "could not be read" in unknown[0]
    assert gw.Work(unknown=unknown).verdict == "unknown"


def test_processes_whose_open_files_are_denied_make_the_verdict_unknown(tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    proc_entry(proc, 100, "python3", {3: "/dev/null"})
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self.name == "fd":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    found, unknown = gw.holders(proc, me=1)
    assert found == [] and unknown == ["the open files of 1 processes could not be read (run as root)"]


def test_docker_inspect_running_bind_of_a_device_counts_and_a_created_gpus_container_does_not():
    # gpujob: running, binds /dev/nvidia0; g2: created with --gpus all, never started.
    text = INSPECT.read_text()
    running = gw.docker_gpu_containers(text)
    assert running == [{"id": json.loads(text)[0]["Id"], "name": "gpujob", "image": "lab/busybox",
                        "why": "a bind of /dev/nvidia0"}]
    g2 = json.loads(text)[1]
    assert gw.gpu_reason(g2) == "--gpus"


def test_every_way_a_container_gets_gpus_is_recognised():
    base = json.loads(INSPECT.read_text())[1]
    cases = {
        "the nvidia runtime": {"Runtime": "nvidia"},
        "CDI devices nvidia.com/gpu=all": {"DeviceRequests": [{"Driver": "cdi", "DeviceIDs": ["nvidia.com/gpu=all"]}]},
        "--gpus": {"DeviceRequests": [{"Driver": "nvidia", "Count": 1, "Capabilities": None}]},
        "device /dev/nvidia1": {"DeviceRequests": None, "Devices": [{"PathOnHost": "/dev/nvidia1"}]},
        "": {"DeviceRequests": None, "Devices": [{"PathOnHost": "/dev/fuse"}], "Runtime": "runc"},
    }
    for why, host in cases.items():
        container = {**base, "HostConfig": {**base["HostConfig"], **host}}
        assert gw.gpu_reason(container) == why, why


def test_busy_work_names_every_reason():
    work = gw.Work(processes=[gw.Holder(7, "python3", ["/dev/nvidia0"])],
                   containers=[{"id": "a" * 64, "name": "train", "image": "cuda", "why": "--gpus"}])
    assert work.verdict == "busy"
    assert work.reasons() == ["python3 (pid 7) holds /dev/nvidia0",
                              "Docker container train (aaaaaaaaaaaa, cuda) runs with --gpus"]
