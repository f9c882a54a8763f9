"""The bad-input table: every role stops on each bad value before any change, naming the variable.

All cases run in one ansible-playbook run (check mode, on this machine): one inventory host per case, with
the role to apply and its bad values as host variables, so a failing host does not stop the others.
Each case must end with failed=1 and changed=0, and its failure message must name the variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FP = "EB693B3035CD5710E231E123A4B469963BF863CC"
REPO = {"third_party_repo_name": "x", "third_party_repo_uri": "https://example.invalid/r/",
        "third_party_repo_key_url": "https://example.invalid/k.asc", "third_party_repo_fingerprints": [FP]}
FOUR = {"gpu_rig_hardware": {"gpu_count": 4}, "gpu_power_apply_now": False}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICfh0+m41ttYcqpdIQFTrRUzCl6zrb8yRUSa/ei48m4Z admin@example"
ADMIN = {"bootstrap_admin_ssh_public_keys": [KEY]}
MUNGE = {"slurm_munge_key": "k" * 64}

# (role, bad values, what the message must name)
TABLE: list[tuple[str, dict, str]] = [
    # node_base
    ("node_base", {"node_base_apt_cache_valid_time": "hourly"}, "node_base_apt_cache_valid_time"),
    ("node_base", {"node_base_apt_cache_valid_time": -5}, "node_base_apt_cache_valid_time"),
    ("node_base", {"node_base_packages": "dkms"}, "node_base_packages"),
    ("node_base", {"node_base_extra_packages": ["vim; rm -rf /"]}, "node_base_extra_packages[0]"),
    ("node_base", {"node_base_extra_packages": ["htop\nPackage: *"]}, "node_base_extra_packages[0]"),
    ("node_base", {"node_base_apt_components": {"Debian": "main\nTrusted: yes"}}, "node_base_apt_components"),
    ("node_base", {"node_base_kernel_headers_meta_package": "linux-headers-$(id)"},
     "node_base_kernel_headers_meta_package"),
    # third_party_repo
    ("third_party_repo", {**REPO, "third_party_repo_name": "../../etc/x"}, "third_party_repo_name"),
    ("third_party_repo", {**REPO, "third_party_repo_uri": "https://example.invalid/r/\nTrusted: yes"},
     "third_party_repo_uri"),
    ("third_party_repo", {**REPO, "third_party_repo_uri": "ftp://example.invalid/r/"}, "third_party_repo_uri"),
    ("third_party_repo", {**REPO, "third_party_repo_key_url": "file:///etc/shadow"}, "third_party_repo_key_url"),
    ("third_party_repo", {**REPO, "third_party_repo_fingerprints": ["3BF863CC"]}, "third_party_repo_fingerprints"),
    ("third_party_repo", {**REPO, "third_party_repo_fingerprints": ["Z" * 40]}, "third_party_repo_fingerprints"),
    ("third_party_repo", {**REPO, "third_party_repo_fingerprints": FP}, "third_party_repo_fingerprints"),
    ("third_party_repo", {**REPO, "third_party_repo_suites": ["stable\nTrusted: yes"]}, "third_party_repo_suites"),
    ("third_party_repo", {**REPO, "third_party_repo_suites": []}, "third_party_repo_suites"),
    ("third_party_repo", {**REPO, "third_party_repo_components": ["main contrib"]}, "third_party_repo_components"),
    ("third_party_repo", {**REPO, "third_party_repo_architectures": ["amd64,arm64"]},
     "third_party_repo_architectures"),
    ("third_party_repo", {**REPO, "third_party_repo_keyring_dir": "etc/apt/keyrings"},
     "third_party_repo_keyring_dir"),
    ("third_party_repo", {**REPO, "third_party_repo_state": "gone"}, "third_party_repo_state"),
    ("third_party_repo", {**REPO, "third_party_repo_base_url": "not a url"}, "third_party_repo_base_url"),
    # nvidia_driver
    ("nvidia_driver", {"nvidia_driver_branch": "latest"}, "nvidia_driver_branch"),
    ("nvidia_driver", {"nvidia_driver_slurm_drain_timeout": -1}, "nvidia_driver_slurm_drain_timeout"),
    ("nvidia_driver", {"nvidia_driver_slurm_node_name": "node3 state=down"}, "nvidia_driver_slurm_node_name"),
    ("nvidia_driver", {"nvidia_driver_branch": -1}, "nvidia_driver_branch"),
    ("nvidia_driver", {"nvidia_driver_branch": 5800}, "nvidia_driver_branch"),
    ("nvidia_driver", {"nvidia_driver_flavour": "closed"}, "nvidia_driver_flavour"),
    ("nvidia_driver", {"nvidia_driver_source": "runfile"}, "nvidia_driver_source"),
    ("nvidia_driver", {"nvidia_driver_version": "latest"}, "nvidia_driver_version"),
    ("nvidia_driver", {"nvidia_driver_module_options": {"nvidia": {"NVreg_X": "1\ninstall nvidia /bin/sh -c id"}}},
     "nvidia_driver_module_options"),
    ("nvidia_driver", {"nvidia_driver_module_options": {"nvidia; x": {"NVreg_X": 1}}}, "nvidia_driver_module_options"),
    ("nvidia_driver", {"nvidia_driver_module_options": {"nvidia": {"NVreg X": 1}}}, "nvidia_driver_module_options"),
    ("nvidia_driver", {"nvidia_driver_reboot_timeout": -10}, "nvidia_driver_reboot_timeout"),
    ("nvidia_driver", {"nvidia_driver_reboot_timeout": "soon"}, "nvidia_driver_reboot_timeout"),
    ("nvidia_driver", {"nvidia_driver_secure_boot": "off"}, "nvidia_driver_secure_boot"),
    ("nvidia_driver", {"nvidia_driver_extra_packages": "nvidia-settings"}, "nvidia_driver_extra_packages"),
    ("nvidia_driver", {"nvidia_driver_extra_packages": ["nvidia-settings nvidia-xconfig"]},
     "nvidia_driver_extra_packages[0]"),
    ("nvidia_driver", {"nvidia_driver_cuda_repo_url": "developer.download.nvidia.com"}, "nvidia_driver_cuda_repo_url"),
    ("nvidia_driver", {"nvidia_driver_cuda_repo_fingerprints": ["123"]}, "nvidia_driver_cuda_repo_fingerprints"),
    # cuda_toolkit
    ("cuda_toolkit", {"cuda_toolkit_source": "pip"}, "cuda_toolkit_source"),
    ("cuda_toolkit", {"cuda_toolkit_versions": ["latest"]}, "cuda_toolkit_versions[0]"),
    ("cuda_toolkit", {"cuda_toolkit_versions": "12.8"}, "cuda_toolkit_versions"),
    ("cuda_toolkit", {"cuda_toolkit_versions": []}, "cuda_toolkit_versions"),
    ("cuda_toolkit", {"cuda_toolkit_default": "12"}, "cuda_toolkit_default"),
    ("cuda_toolkit", {"cuda_toolkit_verify_archs": ["sm_86"]}, "cuda_toolkit_verify_archs[0]"),
    ("cuda_toolkit", {"cuda_toolkit_cuda_repo_url": "https://x.invalid/a b"}, "cuda_toolkit_cuda_repo_url"),
    ("cuda_toolkit", {"cuda_toolkit_package_versions": {"cuda-toolkit-12-8": "latest"}},
     "cuda_toolkit_package_versions"),
    ("cuda_toolkit", {"cuda_toolkit_package_versions": {"cuda-toolkit-12-8 cuda": "12.8.1-1"}},
     "cuda_toolkit_package_versions"),
    # container_engine
    ("container_engine", {"container_engine_engine": "lxd"}, "container_engine_engine"),
    ("container_engine", {"container_engine_docker_package_versions": {"docker.io": "26.1.5\nPackage: *"}},
     "container_engine_docker_package_versions"),
    ("container_engine", {"container_engine_docker_source": "snap"}, "container_engine_docker_source"),
    ("container_engine", {"container_engine_docker_users": "alice"}, "container_engine_docker_users"),
    ("container_engine", {"container_engine_docker_users": ["Alice Smith"]}, "container_engine_docker_users[0]"),
    ("container_engine", {"container_engine_docker_users": ["no-such-account-here"]}, "no-such-account-here"),
    ("container_engine", {"container_engine_docker_users_removed": ["bob;id"]},
     "container_engine_docker_users_removed[0]"),
    ("container_engine", {"container_engine_docker_repo_url": "http://x.invalid/\nTrusted: yes"},
     "container_engine_docker_repo_url"),
    ("container_engine", {"container_engine_docker_repo_fingerprints": ["0EBFCD88"]},
     "container_engine_docker_repo_fingerprints"),
    # nvidia_container_toolkit
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_repo_channel": "nightly"},
     "nvidia_container_toolkit_repo_channel"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_version": "1.17.8-1\nPackage: *"},
     "nvidia_container_toolkit_version"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_version": "latest"}, "nvidia_container_toolkit_version"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_repo_url": "nvidia.github.io"},
     "nvidia_container_toolkit_repo_url"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_repo_fingerprints": []},
     "nvidia_container_toolkit_repo_fingerprints"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_verify_image": "cuda; rm -rf /"},
     "nvidia_container_toolkit_verify_image"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_docker": "yes please"}, "nvidia_container_toolkit_docker"),
    # gpu_power
    ("gpu_power", {**FOUR, "gpu_power_limit_w": "lots"}, "gpu_power_limit_w"),
    ("gpu_power", {**FOUR, "gpu_power_limit_w": -50}, "gpu_power_limit_w"),
    ("gpu_power", {**FOUR, "gpu_power_limits_by_index": {2: -10}}, "gpu_power_limits_by_index"),
    ("gpu_power", {**FOUR, "gpu_power_limits_by_index": {7: 280}}, "gpu_power_limits_by_index"),
    ("gpu_power", {**FOUR, "gpu_power_clock_lock_mhz": "1400,1695\nExecStartPost=/bin/sh -c id"},
     "gpu_power_clock_lock_mhz"),
    ("gpu_power", {**FOUR, "gpu_power_gpu_count": -1}, "gpu_power_gpu_count"),
    ("gpu_power", {**FOUR, "gpu_power_psu_watts": 0}, "gpu_power_psu_watts"),
    ("gpu_power", {**FOUR, "gpu_power_psu_headroom": 5.0}, "gpu_power_psu_headroom"),
    ("gpu_power", {**FOUR, "gpu_power_platform_watts": -100}, "gpu_power_platform_watts"),
    ("gpu_power", {**FOUR, "gpu_power_cpu_tdp_watts": -1}, "gpu_power_cpu_tdp_watts"),
    ("gpu_power", {"gpu_rig_hardware": {"gpu_count": "four"}, "gpu_power_apply_now": False}, "gpu_rig_hardware"),
    ("gpu_power", {"gpu_rig_hardware": {"gpu_cout": 4}, "gpu_power_apply_now": False}, "gpu_cout"),
    # gpu_health
    ("gpu_health", {"gpu_health_temperature_margin_c": -5}, "gpu_health_temperature_margin_c"),
    ("gpu_health", {"gpu_health_ecc_correctable_warn": -1}, "gpu_health_ecc_correctable_warn"),
    ("gpu_health", {"gpu_health_stress_seconds": 0}, "gpu_health_stress_seconds"),
    ("gpu_health", {"gpu_health_report_dir": "reports"}, "gpu_health_report_dir"),
    ("gpu_health", {"gpu_health_expected_gpu_count": -2}, "gpu_health_expected_gpu_count"),
    ("gpu_health", {"gpu_rig_hardware": {"memory_gb": [128]}}, "memory_gb"),
    # bootstrap
    ("bootstrap", {"bootstrap_admin_ssh_public_keys": []}, "bootstrap_admin_ssh_public_keys"),
    ("bootstrap", {"bootstrap_admin_ssh_public_keys": [KEY + "\nPermitRootLogin yes"]},
     "bootstrap_admin_ssh_public_keys[0]"),
    ("bootstrap", {"bootstrap_admin_ssh_public_keys": ["my laptop key"]}, "bootstrap_admin_ssh_public_keys[0]"),
    ("bootstrap", {"bootstrap_admin_ssh_public_keys": KEY}, "bootstrap_admin_ssh_public_keys"),
    ("bootstrap", {**ADMIN, "bootstrap_admin_user": "admin; id"}, "bootstrap_admin_user"),
    ("bootstrap", {**ADMIN, "bootstrap_initial_user": "../root"}, "bootstrap_initial_user"),
    ("bootstrap", {**ADMIN, "bootstrap_hostname": "gpu_node01"}, "bootstrap_hostname"),
    ("bootstrap", {**ADMIN, "bootstrap_hostname": "-node"}, "bootstrap_hostname"),
    ("bootstrap", {**ADMIN, "bootstrap_sshd_permit_root_login": "yes"}, "bootstrap_sshd_permit_root_login"),
    ("bootstrap", {**ADMIN, "bootstrap_python_packages": ["python3 && curl x | sh"]}, "bootstrap_python_packages[0]"),
    # memory_health
    ("memory_health", {"memory_health_ce_threshold": "some"}, "memory_health_ce_threshold"),
    ("memory_health", {"memory_health_ce_threshold": -1}, "memory_health_ce_threshold"),
    ("memory_health", {"memory_health_burnin_fraction": 5.0}, "memory_health_burnin_fraction"),
    ("memory_health", {"memory_health_burnin_seconds": -1}, "memory_health_burnin_seconds"),
    ("memory_health", {"memory_health_baseline_path": "baseline.json"}, "memory_health_baseline_path"),
    ("memory_health", {"memory_health_dimm_labels": {"mc0": "P1-DIMMA1\nx"}}, "memory_health_dimm_labels"),
    # node_metrics
    ("node_metrics", {"node_metrics_interval": "1min\nExecStartPre=/bin/sh -c id"}, "node_metrics_interval"),
    ("node_metrics", {"node_metrics_interval": "often"}, "node_metrics_interval"),
    ("node_metrics", {"node_metrics_dcgm_exporter_port": 0}, "node_metrics_dcgm_exporter_port"),
    ("node_metrics", {"node_metrics_dcgm_exporter_version": "4.8.2-1 datacenter-gpu-manager-4-core"},
     "node_metrics_dcgm_exporter_version"),
    ("node_metrics", {"node_metrics_dcgm_repo_url": "file:///etc"}, "node_metrics_dcgm_repo_url"),
    ("node_metrics", {"node_metrics_textfile_dir": "textfile"}, "node_metrics_textfile_dir"),
    ("node_metrics", {"node_metrics_expected_gpus": -1}, "node_metrics_expected_gpus"),
    ("node_metrics", {"node_metrics_nvidia_smi_xml": "saved.xml"}, "node_metrics_nvidia_smi_xml"),
    ("node_metrics", {"node_metrics_lock": ["580"]}, "node_metrics_lock"),
    # monitoring
    ("monitoring", {"monitoring_node_exporter_port": 0}, "monitoring_node_exporter_port"),
    ("monitoring", {"monitoring_scrape_interval": "30s\nrule_files: [/etc/passwd]"}, "monitoring_scrape_interval"),
    ("monitoring", {"monitoring_cluster_name": "gpu rig"}, "monitoring_cluster_name"),
    ("monitoring", {"monitoring_alert_temperature_margin_c": -3}, "monitoring_alert_temperature_margin_c"),
    ("monitoring", {"monitoring_alertmanager_config": "route: {}"}, "monitoring_alertmanager_config"),
    ("monitoring", {"monitoring_targets_group": "no_such_group"}, "monitoring_targets_group"),
    # cluster_users
    ("cluster_users", {"cluster_users_accounts": "alice"}, "cluster_users_accounts"),
    ("cluster_users", {"cluster_users_accounts": [{"name": "alice", "uid": 500}]}, "cluster_users_accounts[0].uid"),
    ("cluster_users", {"cluster_users_accounts": [{"name": "alice", "uid": 2001}, {"name": "bob", "uid": 2001}]},
     "cluster_users_accounts[1].uid"),
    ("cluster_users", {"cluster_users_accounts": [{"name": "root", "uid": 2001}]}, "cluster_users_accounts[0]"),
    ("cluster_users", {"cluster_users_home_dir": "home"}, "cluster_users_home_dir"),
    # shared_home
    ("shared_home", {"shared_home_clients": []}, "shared_home_clients"),
    ("shared_home", {"shared_home_clients": ["everyone(rw,no_root_squash)"]}, "shared_home_clients"),
    ("shared_home", {"shared_home_clients": ["10.0.0.0/8"], "shared_home_server": "samba"}, "shared_home_server"),
    ("shared_home", {"shared_home_clients": ["10.0.0.0/8"], "shared_home_dir": "/home"}, "shared_home_dir"),
    ("shared_home", {"shared_home_clients": ["10.0.0.0/8"], "shared_home_mount_options": "rw bg"},
     "shared_home_mount_options"),
    # slurm (the munge key is checked without printing it)
    ("slurm", {**MUNGE, "slurm_cluster_name": "GPU rig"}, "slurm_cluster_name"),
    ("slurm", {**MUNGE, "slurm_partition_name": "gpu Default=NO"}, "slurm_partition_name"),
    ("slurm", {**MUNGE, "slurm_gpu_type": "rtx3090:8"}, "slurm_gpu_type"),
    ("slurm", {**MUNGE, "slurm_gpu_count": -4}, "slurm_gpu_count"),
    ("slurm", {**MUNGE, "slurm_memory_reserved_mb": "lots"}, "slurm_memory_reserved_mb"),
    ("slurm", {"slurm_munge_key": "Zq7-tiny-key"}, "slurm_munge_key"),
    ("slurm", {**MUNGE, "slurm_health_check_program": "/usr/local/sbin/check\nHealthCheckInterval=1"},
     "slurm_health_check_program"),
    ("slurm", {**MUNGE, "slurm_health_check_interval": 0}, "slurm_health_check_interval"),
    ("slurm", {"slurm_munge_key": "x" * 40 + "\nsecond line"}, "slurm_munge_key"),
    ("slurm", {**MUNGE, "slurm_controller_group": "no_such_group"}, "slurm_controller_group"),
]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict:
    """Run every case once; return {host: (stats, failure messages)}."""
    tmp = tmp_path_factory.mktemp("bad_inputs")
    hosts = {f"case-{i:02d}": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                "case_role": role, **bad}
             for i, (role, bad, _) in enumerate(TABLE)}
    (tmp / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (tmp / "play.yml").write_text(yaml.safe_dump([{
        "name": "Bad inputs", "hosts": "all", "gather_facts": True, "gather_subset": ["min"],
        "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {
            "name": "gpu_rig.cluster.{{ case_role }}"}}]}]))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORKS="8")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventory.yml", "--check",
                          "play.yml"], capture_output=True, text=True, env=env, cwd=tmp, check=False)
    report, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{"):])
    messages: dict[str, list[str]] = {host: [] for host in hosts}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    messages[host].append(json.dumps(result))
    return {host: (report["stats"][host], messages[host]) for host in hosts}


def test_the_table_is_large_and_covers_every_role():
    assert len(TABLE) >= 60
    assert {role for role, _, _ in TABLE} == {p.name for p in (ROOT / "roles").iterdir()} - {"common", "lab"}


@pytest.mark.parametrize(("index", "case"), list(enumerate(TABLE)), ids=[f"{c[0]}-{c[2]}" for c in TABLE])
def test_each_bad_input_stops_the_role_before_any_change_naming_it(outcome, index, case):
    role, bad, named = case
    stats, failures = outcome[f"case-{index:02d}"]
    assert stats["failures"] == 1, f"{role} accepted {bad}: {stats}"
    assert stats["changed"] == 0, f"{role} changed something before stopping on {bad}: {stats}"
    assert any(named in message for message in failures), f"the failure does not name {named}: {failures}"


def test_the_munge_key_is_never_printed(outcome):
    for index, (role, bad, _) in enumerate(TABLE):
        key = bad.get("slurm_munge_key")
        if role == "slurm" and key:
            _, failures = outcome[f"case-{index:02d}"]
            assert failures and not any(key.split("\n")[0] in message for message in failures), failures
