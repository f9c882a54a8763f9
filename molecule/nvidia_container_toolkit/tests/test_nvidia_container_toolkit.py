"""container_engine + nvidia_container_toolkit: merged configs, pinned packages, docker info lists nvidia."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

PACKAGES = ["nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
            "libnvidia-container1"]


@pytest.mark.parametrize("package", PACKAGES)
def test_toolkit_package_is_pinned_version_and_held(host, package):
    pkg = host.package(package)
    assert pkg.is_installed, f"{package} is not installed"
    assert pkg.version == "1.17.8-1", f"{package}: {pkg.version}, expected 1.17.8-1 (1.18.0-1 is offered)"
    assert host.run(f"dpkg --get-selections {package}").stdout.split()[-1] == "hold"


def test_every_user_key_survives_in_daemon_json(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["data-root"] == "/var/lib/docker-user"
    assert config["storage-driver"] == "vfs"
    assert config["log-driver"] == "json-file" and config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert config["registry-mirrors"] == ["https://mirror.invalid"]
    assert config["live-restore"] is False
    assert config["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert "default-runtime" not in config


def test_the_users_daemon_json_is_kept_as_a_backup(host):
    backups = host.run("ls /etc/docker/ | grep -E '^daemon\\.json\\..+~$'").stdout.split()
    assert backups, "no backup of the user's daemon.json"
    # daemon.json.<pid>.<date>@<time>~: the oldest is the user's file before the first run.
    oldest = sorted(backups, key=lambda name: name.rsplit(".", 1)[-1])[0]
    first = json.loads(host.file(f"/etc/docker/{oldest}").content_string)
    assert first["data-root"] == "/var/lib/docker-user" and "nvidia" not in first.get("runtimes", {}), first


def test_docker_runs_and_lists_the_nvidia_runtime(host):
    assert host.service("docker").is_running
    info = host.run("docker info --format '{{json .Runtimes}} {{.DockerRootDir}}'")
    assert info.rc == 0, info.stderr
    assert '"nvidia"' in info.stdout, info.stdout
    assert "/var/lib/docker-user" in info.stdout, "Docker does not use the user's data-root"


USER_CONFIG = (Path(__file__).parents[3] / "tests/fixtures/containerd/rich_user.toml").read_text()
CRI = ("plugins", "io.containerd.grpc.v1.cri")


def dig(tree: dict, *path: str):
    for part in path:
        tree = tree[part]
    return tree


def test_containerd_1x_has_the_runtime_in_config_toml_after_the_users_text(host):
    # containerd 1.6 (Debian 12) and 1.7 (Debian 13) would reset the CRI section from a drop-in.
    assert host.run("containerd --version").stdout.split()[2].startswith("1.")
    config = host.file("/etc/containerd/config.toml").content_string
    assert config.startswith(USER_CONFIG), "the user's text is not kept byte for byte"
    assert "BEGIN gpu_rig.cluster: the nvidia runtime" in config
    assert not host.file("/etc/containerd/conf.d/99-nvidia.toml").exists
    backups = host.run("ls /etc/containerd/ | grep -E '^config\\.toml\\..+~$'").stdout.split()
    assert backups and host.file(f"/etc/containerd/{backups[0]}").content_string == USER_CONFIG


def test_the_running_containerd_keeps_every_user_setting_and_has_the_nvidia_runtime(host):
    assert host.service("containerd").is_running
    dump = host.run("containerd config dump")
    assert dump.rc == 0, dump.stderr
    running = tomllib.loads(dump.stdout)
    assert running["root"] == "/var/lib/containerd-user"
    assert dig(running, *CRI, "sandbox_image") == "registry.invalid/pause:3.9"
    cni = dig(running, *CRI, "cni")
    assert (cni["bin_dir"], cni["conf_dir"]) == ("/usr/lib/cni", "/etc/cni/net.d")
    assert dig(running, *CRI, "containerd", "default_runtime_name") == "runc"
    runtimes = dig(running, *CRI, "containerd", "runtimes")
    assert runtimes["runc"]["options"]["SystemdCgroup"] is True
    assert runtimes["nvidia"]["runtime_type"] == "io.containerd.runc.v2"
    assert runtimes["nvidia"]["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    assert runtimes["nvidia"]["options"]["SystemdCgroup"] is True, "nvidia must use runc's cgroup driver"
    assert dig(running, *CRI, "registry", "mirrors", "docker.io", "endpoint") == ["https://mirror.invalid"]
    assert dig(running, "plugins", "io.containerd.internal.v1.opt", "path") == "/var/lib/containerd/opt"


def test_the_cri_plugin_loads(host):
    plugins = host.run("ctr plugins ls")
    assert plugins.rc == 0, plugins.stderr
    cri = [line.split() for line in plugins.stdout.splitlines() if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri and cri[0][-1] == "ok", plugins.stdout


def test_no_restart_is_left_pending(host):
    pending = host.file("/var/lib/gpu-rig/pending")
    assert not pending.exists or not host.run("ls -A /var/lib/gpu-rig/pending").stdout.strip()


def test_no_cdi_spec_without_a_gpu(host):
    assert not host.file("/etc/cdi/nvidia.yaml").exists


def test_only_listed_existing_accounts_are_in_the_docker_group(host):
    line = host.run("getent group docker").stdout.strip()
    members = line.split(":")[3].split(",") if line.count(":") == 3 and line.split(":")[3] else []
    assert "lab-gpu-user" in members, line
    assert "lab-former-user" not in members, f"a removed user is still root-equivalent: {line}"
    assert host.run("getent passwd lab-gpu-usr").rc != 0, "the typo must not have created an account"
