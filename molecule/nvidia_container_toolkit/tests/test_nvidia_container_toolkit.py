"""container_engine + nvidia_container_toolkit: merged configs, pinned packages, docker info lists nvidia."""

from __future__ import annotations

import json

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
    first = json.loads(host.file(f"/etc/docker/{sorted(backups)[0]}").content_string)
    assert first["data-root"] == "/var/lib/docker-user" and "nvidia" not in first.get("runtimes", {}), first


def test_docker_runs_and_lists_the_nvidia_runtime(host):
    assert host.service("docker").is_running
    info = host.run("docker info --format '{{json .Runtimes}} {{.DockerRootDir}}'")
    assert info.rc == 0, info.stderr
    assert '"nvidia"' in info.stdout, info.stdout
    assert "/var/lib/docker-user" in info.stdout, "Docker does not use the user's data-root"


def test_containerd_keeps_the_users_settings_and_imports_the_drop_in(host):
    config = host.file("/etc/containerd/config.toml").content_string
    assert "# The user's containerd settings: must survive.\n" in config
    assert 'root = "/var/lib/containerd-user"' in config
    assert 'sandbox_image = "registry.invalid/pause:3.9"' in config
    assert "/etc/containerd/conf.d/*.toml" in config
    drop_in = host.file("/etc/containerd/conf.d/99-nvidia.toml").content_string
    assert 'BinaryName = "/usr/bin/nvidia-container-runtime"' in drop_in
    assert host.service("containerd").is_running


def test_containerd_loads_the_merged_configuration(host):
    dump = host.run("containerd config dump")
    assert dump.rc == 0, dump.stderr
    assert "nvidia" in dump.stdout and "/var/lib/containerd-user" in dump.stdout


def test_no_cdi_spec_without_a_gpu(host):
    assert not host.file("/etc/cdi/nvidia.yaml").exists


def test_only_listed_existing_accounts_are_in_the_docker_group(host):
    line = host.run("getent group docker").stdout.strip()
    members = line.split(":")[3].split(",") if line.count(":") == 3 and line.split(":")[3] else []
    assert "lab-gpu-user" in members, line
    assert "lab-former-user" not in members, f"a removed user is still root-equivalent: {line}"
    assert host.run("getent passwd lab-gpu-usr").rc != 0, "the typo must not have created an account"
