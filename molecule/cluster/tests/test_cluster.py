"""What the cluster scenario left: bootstrap, SSH, the lock on an added node, the drift reports, the page.

Every step ran as a user runs it (`ansible-playbook -i <inventory> playbooks/...`, see side_effect.yml);
its log and reports are in the scenario's folder. The nodes are read directly (podman exec) or over SSH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
CLUSTER = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "cluster"
NODES = ("cluster-node1", "cluster-node2", "cluster-node3")
sys.path.insert(0, str(PROJECT / "harness"))

import browser  # noqa: E402

# The hand edits side_effect.yml makes on cluster-node1, and the tasks whose work they undo.
EDITED_TASKS = {
    "gpu_rig.cluster.nvidia_driver : configure | Blacklist nouveau",
    "gpu_rig.cluster.nvidia_container_toolkit : docker | Merge the nvidia runtime into daemon.json, keeping every"
    " user setting",
    "gpu_rig.cluster.nvidia_driver : install | Hold the driver packages against upgrades",
    "gpu_rig.cluster.gpu_power : unit | Write the boot-time power limit unit",
    "gpu_rig.cluster.memory_health : rasdaemon | Enable rasdaemon",
}
# What the correction does because of them: the blacklist is rebuilt into the initramfs, dockerd restarts
# for the runtime it lost.
CONSEQUENCES = {
    "gpu_rig.cluster.nvidia_driver : configure | Record that the initramfs must be rebuilt",
    "gpu_rig.cluster.nvidia_container_toolkit : restart | Restart Docker",
}


def node(name: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", name, *argv], capture_output=True, text=True, check=False)


def log(name: str) -> str:
    return (CLUSTER / "logs" / f"{name}.log").read_text(encoding="utf-8")


def recap(name: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+: (ok=.*)$", log(name), re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


def drift(step: str) -> dict:
    return json.loads((CLUSTER / f"drift-{step}" / "drift.json").read_text(encoding="utf-8"))


def inventory() -> dict:
    return yaml.safe_load((CLUSTER / "inventory" / "hosts.yml").read_text(encoding="utf-8"))["gpu_nodes"]


def ssh(user: str, address: str, *command: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    lab = CLUSTER / "lab"
    argv = ["ssh", "-o", f"UserKnownHostsFile={lab / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10"]
    if password is None:
        argv += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(lab / "id_ed25519")]
    else:
        argv = ["sshpass", "-e", *argv, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"]
    env = dict(os.environ, SSHPASS=password or "")
    return subprocess.run([*argv, f"{user}@{address}", *command], capture_output=True, text=True, env=env,
                          check=False, timeout=60)


@pytest.fixture(scope="module")
def addresses() -> dict[str, str]:
    return {name: host["ansible_host"] for name, host in inventory()["hosts"].items()}


# -- bootstrap ---------------------------------------------------------------------------------------------

def test_bootstrap_in_check_mode_says_python_is_missing_and_changes_nothing():
    text = log("bootstrap-check")
    assert "cluster-node2 has no python3; a real run installs python3, python3-apt" in text


@pytest.mark.parametrize("name", NODES)
def test_python_is_there_and_the_admin_logs_in_with_the_key_and_has_sudo(name, addresses):
    assert node(name, "python3", "-c", "import apt").returncode == 0
    run = ssh("gpuadmin", addresses[name], "sudo", "-n", "id", "-u")
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stderr
    assert node(name, "visudo", "-c").returncode == 0


@pytest.mark.parametrize("name", NODES)
def test_root_can_no_longer_log_in_with_its_password(name, addresses):
    password = (CLUSTER / "lab" / "root-password").read_text().strip()
    run = ssh("root", addresses[name], "true", password=password)
    assert run.returncode != 0 and "Permission denied" in run.stderr, run.stderr
    effective = node(name, "sshd", "-T", "-C", "user=root,host=localhost,addr=127.0.0.1").stdout
    assert re.search(r"^permitrootlogin (without-password|prohibit-password)$", effective, re.MULTILINE)


def test_a_second_bootstrap_and_site_run_change_nothing():
    for step in ("converge-bootstrap", "converge-site"):
        assert recap(step), f"no recap in {step}"
        assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap(step).values()), recap(step)


@pytest.mark.parametrize("name", ("cluster-node1", "cluster-node2"))
def test_the_site_ran_over_ssh_as_the_admin(name):
    journal = node(name, "journalctl", "-u", "ssh", "--no-pager").stdout
    assert "Accepted publickey for gpuadmin" in journal


# -- the lock ----------------------------------------------------------------------------------------------

def lock() -> dict:
    return yaml.safe_load((CLUSTER / "inventory" / "group_vars" / "gpu_nodes" / "lock.yml").read_text())


def test_the_lock_holds_what_each_release_ran():
    by_release = lock()["gpu_rig_lock_by_release"]
    assert set(by_release) == {"bookworm", "trixie"}
    assert by_release["bookworm"]["nvidia_container_toolkit_version"] == "1.18.0-1"
    assert by_release["trixie"]["nvidia_container_toolkit_version"] == "1.17.8-1"
    assert by_release["bookworm"]["nvidia_driver_version"] == "580.95.05"
    assert set(by_release["bookworm"]["cuda_toolkit_package_versions"]) == {"cuda-toolkit-12-8", "cuda-toolkit-12-9"}
    assert set(by_release["bookworm"]["container_engine_docker_package_versions"]) == {"docker.io"}


def installed(name: str, package: str) -> str:
    return node(name, "dpkg-query", "-W", "-f=${Version}", package).stdout


def test_the_node_added_later_runs_exactly_the_locked_versions():
    # Without the lock the role's default (1.17.8-1) would have been installed on cluster-node3.
    bookworm = lock()["gpu_rig_lock_by_release"]["bookworm"]
    assert installed("cluster-node3", "nvidia-container-toolkit") == "1.18.0-1"
    for package, version in bookworm["container_engine_docker_package_versions"].items():
        assert installed("cluster-node3", package) == version == installed("cluster-node1", package)
    for package, version in bookworm["cuda_toolkit_package_versions"].items():
        assert installed("cluster-node3", package) == version


def test_validate_finds_every_node_on_the_lock():
    text = log("validate")
    for name in NODES:
        assert f"LOCK matches on {name}" in text
    assert "LOCK DIFFERS" not in text


# -- drift -------------------------------------------------------------------------------------------------

def test_the_drift_report_names_exactly_the_hand_edits():
    report = drift("edited")
    assert report["drifted"] == ["cluster-node1"] and set(report["hosts"]) == set(NODES), report["drifted"]
    host = report["hosts"]["cluster-node1"]
    tasks = {entry["task"] for entry in host["drift"]}
    assert tasks == EDITED_TASKS | CONSEQUENCES, tasks
    assert host["status"] == "drifted" and host["errors"] == [], host["errors"]
    held = next(entry for entry in host["drift"] if "Hold the driver" in entry["task"])
    assert held["items"] == ["nvidia-driver-cuda"]
    assert "DRIFT on cluster-node1" in log("edited")


def test_the_site_run_corrects_the_drift_and_the_next_check_is_clean():
    assert recap("correct")["cluster-node1"]["changed"] >= len(EDITED_TASKS)
    corrected = drift("corrected")
    assert corrected["drifted"] == [] and set(corrected["hosts"]) == set(NODES)
    assert node("cluster-node1", "systemctl", "is-enabled", "rasdaemon").stdout.strip() == "enabled"
    assert node("cluster-node1", "test", "-e", "/etc/modprobe.d/blacklist-nouveau.conf").returncode == 0


# -- the cluster report ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page() -> str:
    artifacts = PROJECT / "build" / "test-artifacts"
    return browser.render(CLUSTER / "report" / "cluster.html", artifacts / "cluster-scenario-report.png")


def test_the_report_counts_the_cluster_against_the_target(page):
    spans = browser.spans(page)
    assert (spans["node-count"], spans["gpus-seen"], spans["gpus-expected"], spans["gpus-target"]) == (
        "3", "0", "12", "8")


def test_the_report_links_prometheus_and_shows_the_last_scrape(page, addresses):
    assert f"http://{addresses['cluster-node1']}:9090" in page
    rows = {row["node"]: row for row in browser.table_rows(page, "nodes")}
    assert rows["cluster-node1"]["scrape"].startswith("UP 20"), rows["cluster-node1"]


def test_the_report_shows_each_node_as_it_is(page):
    rows = {row["node"]: row for row in browser.table_rows(page, "nodes")}
    assert set(rows) == set(NODES)
    for row in rows.values():
        assert row["gpus"].startswith("0 seen of 4 expected"), row
        assert row["gpu_health"].startswith("SKIP"), row
        assert row["lock"] == "matches", row
        assert row["drift"].startswith("clean"), row
        assert "(STAND-IN)" in row["driver"] and "(STAND-IN)" in row["container_toolkit"], row
        assert row["psu"] == "within: 1375 W of 1440 W allowed", row
    assert rows["cluster-node3"]["container_toolkit"] == "1.18.0-1 (STAND-IN)"


# -- monitoring --------------------------------------------------------------------------------------------
# cluster-node1 is the head (gpu_head): Prometheus and Alertmanager. Every node runs node exporter with the
# gpu-rig-metrics collector; cluster-node3's collector reads the saved outputs side_effect.yml gave it.

def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = answer.read().decode()
    return json.loads(body) if "/api/" in url else body


def wait_for(what: str, probe: Any, timeout: float = 240) -> Any:
    """Poll probe() until it returns something true; Prometheus scrapes and evaluates every 30 s."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except OSError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(5)
    pytest.fail(f"{what}: not within {timeout} s; last: {last}")


def samples(text: str, name: str) -> dict[str, float]:
    return {labels: float(value) for labels, value in re.findall(rf"^{name}(\{{.*\}})? (\S+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("name", ("cluster-node1", "cluster-node2"))
def test_node_exporter_serves_the_nodes_health_metrics(name, addresses):
    text = get(f"http://{addresses[name]}:9100/metrics")
    assert samples(text, "gpu_rig_nvidia_smi_up") == {"": 0.0}
    assert 'gpu_rig_host_info{kind="container",type="podman"} 1' in text
    assert samples(text, "gpu_rig_gpus_expected") == {"": 4.0}
    assert 'gpu_rig_health_verdict{report="gpu_health",verdict="SKIP"} 1' in text
    assert 'gpu_rig_health_verdict{report="memory_health",verdict="SKIP"} 1' in text
    assert samples(text, "gpu_rig_lock_matches") == {"": 1.0}
    toolkit = {"cluster-node1": "1.18.0-1", "cluster-node2": "1.17.8-1"}[name]  # the lock of its release
    assert f'gpu_rig_package_info{{package="nvidia-container-toolkit",version="{toolkit}"}} 1' in text


def test_the_saved_output_gives_the_gpu_metrics_on_node3(addresses):
    text = get(f"http://{addresses['cluster-node3']}:9100/metrics")
    assert samples(text, "gpu_rig_nvidia_smi_up") == {"": 1.0}
    assert samples(text, "gpu_rig_gpus_attached") == {"": 1.0}
    assert 'name="NVIDIA GeForce RTX 3090"' in text
    assert 'gpu_rig_gpu_xid_errors_total{action="reboot",gpu="",pci_bus_id="0000:06:00",xid="79"} 1' in text
    assert 'gpu_rig_health_verdict{report="gpu_health",verdict="FAIL"} 1' in text


@pytest.mark.parametrize("name", NODES)
def test_the_collectors_file_passes_promtool(name):
    text = node(name, "cat", "/var/lib/prometheus/node-exporter/gpu_rig.prom").stdout
    check = subprocess.run(["podman", "exec", "-i", "cluster-node1", "promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, check=False)
    assert text.startswith("# HELP") and check.returncode == 0, check.stdout + check.stderr


def test_the_alert_rules_pass_their_promtool_tests():
    copy = subprocess.run(["podman", "cp", str(PROJECT / "tests" / "promtool" / "gpu_rig_rules_test.yml"),
                           "cluster-node1:/tmp/gpu_rig_rules_test.yml"], capture_output=True, text=True, check=False)
    assert copy.returncode == 0, copy.stderr
    run = node("cluster-node1", "promtool", "test", "rules", "/tmp/gpu_rig_rules_test.yml")
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr


def test_prometheus_scrapes_every_node(addresses):
    api = f"http://{addresses['cluster-node1']}:9090/api/v1/targets?state=active"

    def every_node_up() -> dict[str, str] | None:
        targets = [t for t in get(api)["data"]["activeTargets"] if t["scrapePool"] == "gpu_rig_nodes"]
        health = {t["labels"]["instance"]: t["health"] for t in targets}
        return health if health == dict.fromkeys(NODES, "up") else None

    wait_for("every node's exporter up in Prometheus", every_node_up)


def test_prometheus_scrapes_the_dcgm_exporter_where_nvidia_offers_dcgm(addresses):
    """NVIDIA's DCGM exporter (the mirror's stand-in package) on the Debian 12 nodes, from the CUDA repository
    through third_party_repo; Debian 13 has none (NVIDIA's repository offers no DCGM there)."""
    for name in SLURM_NODES:
        assert node(name, "systemctl", "is-active", "nvidia-dcgm-exporter.service").stdout.strip() == "active"
        shown = node(name, "systemctl", "show", "nvidia-dcgm-exporter.service", "-p", "Environment").stdout
        assert "DCGM_EXPORTER_LISTEN=:9400" in shown, shown
        policy = node(name, "apt-cache", "policy", "datacenter-gpu-manager-exporter").stdout
        assert "Installed: 4.8.2-1" in policy and "host.containers.internal:8765" in policy, policy
    assert node("cluster-node2", "dpkg-query", "-W", "datacenter-gpu-manager-exporter").returncode != 0
    api = f"http://{addresses['cluster-node1']}:9090/api/v1/targets?state=active"

    def dcgm_up() -> dict[str, str] | None:
        health = {t["labels"]["instance"]: t["health"] for t in get(api)["data"]["activeTargets"]
                  if t["scrapePool"] == "dcgm"}
        return health if health == dict.fromkeys(SLURM_NODES, "up") else None

    wait_for("the DCGM exporters up in Prometheus", dcgm_up)
    query = f"http://{addresses['cluster-node1']}:9090/api/v1/query?query=" + urllib.parse.quote("DCGM_FI_DEV_GPU_TEMP")

    def series() -> set[str] | None:
        found = {r["metric"]["instance"] for r in get(query)["data"]["result"]}
        return found if found == set(SLURM_NODES) else None

    wait_for("DCGM's metrics of both Debian 12 nodes", series)


def test_the_dcgm_exporter_is_refused_on_debian13_before_any_change():
    text = log("dcgm-refused")
    assert "node_metrics_dcgm_exporter: NVIDIA's DCGM install guide lists no DCGM for Debian 13" in text, text[-3000:]
    counts = recap("dcgm-refused")["cluster-node2"]
    assert counts["failed"] == 1 and counts["changed"] == 0, counts


def test_a_query_returns_the_health_metrics_of_every_node(addresses):
    query = urllib.parse.quote("gpu_rig_health_verdict == 1")
    api = f"http://{addresses['cluster-node1']}:9090/api/v1/query?query={query}"

    def verdicts() -> dict[tuple[str, str], str] | None:
        found = {(r["metric"]["instance"], r["metric"]["report"]): r["metric"]["verdict"]
                 for r in get(api)["data"]["result"]}
        return found if found.get(("cluster-node3", "gpu_health")) == "FAIL" and len(found) == 6 else None

    found = wait_for("both health reports of every node", verdicts)
    skipped = {(n, r): "SKIP" for n in NODES for r in ("gpu_health", "memory_health")}
    del skipped[("cluster-node3", "gpu_health")]
    assert {key: v for key, v in found.items() if key != ("cluster-node3", "gpu_health")} == skipped


def test_the_saved_fail_fires_alerts_in_prometheus_and_alertmanager(addresses):
    head = addresses["cluster-node1"]

    def firing() -> set[tuple[str, str]] | None:
        alerts = {(a["labels"]["alertname"], a["labels"]["instance"])
                  for a in get(f"http://{head}:9090/api/v1/alerts")["data"]["alerts"] if a["state"] == "firing"}
        wanted = {("GpuRigHealthFail", "cluster-node3"), ("GpuRigXidNeedsReset", "cluster-node3")}
        return alerts if wanted <= alerts else None

    alerts = wait_for("the saved output's alerts firing", firing)
    # The unaltered nodes are containers with SKIP verdicts: no hardware alert, no FAIL.
    assert not {a for a in alerts if a[1] != "cluster-node3"}, alerts

    def in_alertmanager() -> set[str] | None:
        names = {a["labels"]["alertname"] for a in get(f"http://{head}:9093/api/v2/alerts")
                 if a["labels"].get("instance") == "cluster-node3"}
        return names if "GpuRigHealthFail" in names else None

    wait_for("the alert in Alertmanager", in_alertmanager, timeout=120)


# -- Slurm -------------------------------------------------------------------------------------------------
# The Debian 12 nodes are the Slurm cluster (slurm_nodes in the lab's inventory): cluster-node1 controls and
# computes, cluster-node3 computes; cluster-node2 runs Debian 13, whose Slurm 24.11 cannot join 22.05.
SLURM_NODES = ("cluster-node1", "cluster-node3")


def on_head(addresses: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """A command of the README's "Run a job" recipe, as the admin account on the head node over SSH."""
    return ssh("gpuadmin", addresses["cluster-node1"], *command)


def test_sinfo_shows_each_nodes_gpus_and_eight_in_the_cluster(addresses):
    run = on_head(addresses, "sinfo -N -h -o '%N %G'")
    assert run.returncode == 0, run.stderr
    rows = dict(line.split() for line in run.stdout.splitlines())
    assert rows == dict.fromkeys(SLURM_NODES, "gpu:rtx3090:4"), run.stdout
    assert sum(int(gres.rsplit(":", 1)[1]) for gres in rows.values()) == 8
    artifacts = PROJECT / "build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "cluster-sinfo.txt").write_text(on_head(addresses, "sinfo -N -o '%N %G %T %E'").stdout)


@pytest.mark.parametrize("name", SLURM_NODES)
def test_scontrol_shows_the_gres_of_the_node(name):
    shown = node("cluster-node1", "scontrol", "show", "node", name, "-o").stdout
    assert "Gres=gpu:rtx3090:4" in shown and f"NodeName={name} " in shown, shown
    gres = node(name, "cat", "/etc/slurm/gres.conf").stdout
    assert f"NodeName={name} Name=gpu Type=rtx3090 File=/dev/nvidia[0-3]" in gres


def test_a_job_sees_the_two_gpus_it_asked_for(addresses):
    run = on_head(addresses, "srun", "--gres=gpu:2", "printenv", "CUDA_VISIBLE_DEVICES")
    assert run.returncode == 0 and run.stdout.strip() == "0,1", run.stdout + run.stderr


def test_a_job_asking_for_five_gpus_of_one_node_is_refused(addresses):
    run = on_head(addresses, "srun", "--gres=gpu:5", "true")
    assert run.returncode == 1 and "Requested node configuration is not available" in run.stderr, run.stderr


def test_the_node_whose_gpu_health_fails_is_drained_with_the_reason():
    shown = node("cluster-node1", "scontrol", "show", "node", "cluster-node3", "-o").stdout
    assert re.search(r"State=\S*DRAIN", shown) and "Reason=gpu_health FAIL: gpu_count" in shown, shown
    head = node("cluster-node1", "scontrol", "show", "node", "cluster-node1", "-o").stdout
    assert "DRAIN" not in head and "Reason=" not in head, head
    assert recap("slurm-drain")["cluster-node1"]["changed"] >= 1


@pytest.mark.parametrize("name", SLURM_NODES)
def test_slurmd_runs_the_health_check_which_skips_in_a_container(name):
    shown = node("cluster-node1", "scontrol", "show", "config").stdout
    assert re.search(r"^HealthCheckProgram\s*=\s*/usr/local/sbin/gpu-rig-health-check$", shown, re.M), shown
    assert re.search(r"^HealthCheckNodeState\s*=\s*ANY$", shown, re.M), shown
    record = json.loads(node(name, "cat", "/var/lib/gpu-rig/slurm_health.json").stdout)
    assert record["verdict"] == "SKIP" and "a container has no GPU to see" in record["reason"], record
    assert record["node"] == name and record["action"] == "", record
    # Written by slurmd: nothing else runs the program before this test, and slurmd runs it at its start.
    started = node(name, "sh", "-c", "date -d \"$(systemctl show slurmd -p ActiveEnterTimestamp --value)\" +%s")
    assert record["time"] >= int(started.stdout) - 1, (record, started.stdout)


def test_the_health_check_drains_a_node_that_lost_gpus_and_resumes_it():
    saved = PROJECT / "tests/fixtures/nvidia_smi"
    for src, dest in (("telegraf_rtx3090_v12.xml", "one-gpu.xml"), ("built_rtx3090x4_persistence_on.xml", "four.xml")):
        subprocess.run(["podman", "cp", str(saved / src), f"cluster-node1:/var/tmp/{dest}"], check=True)
    check = "/usr/local/sbin/gpu-rig-health-check"
    try:
        run = node("cluster-node1", check, "--nvidia-smi-xml", "/var/tmp/one-gpu.xml")
        assert run.returncode == 0, run.stdout + run.stderr
        shown = node("cluster-node1", "scontrol", "show", "node", "cluster-node1", "-o").stdout
        assert re.search(r"State=\S*DRAIN", shown), shown
        assert "Reason=gpu-rig health check: 1 of 4 GPUs attached" in shown, shown
    finally:
        run = node("cluster-node1", check, "--nvidia-smi-xml", "/var/tmp/four.xml")
    assert run.returncode == 0 and "OK" in run.stdout, run.stdout + run.stderr
    shown = node("cluster-node1", "scontrol", "show", "node", "cluster-node1", "-o").stdout
    assert "DRAIN" not in shown and "Reason=" not in shown, shown


def test_the_debian13_node_stays_out_of_slurm():
    assert node("cluster-node2", "test", "-e", "/usr/sbin/slurmd").returncode != 0
    assert "cluster-node2" not in node("cluster-node1", "sinfo", "-h", "-N", "-o", "%N").stdout


def test_the_munge_key_is_on_every_slurm_node_and_in_no_log():
    key = (CLUSTER / "lab" / "munge-key").read_text(encoding="utf-8").strip()
    assert len(key) >= 32
    for name in SLURM_NODES:
        assert node(name, "cat", "/etc/munge/munge.key").stdout == key
        assert node(name, "stat", "-c", "%a %U", "/etc/munge/munge.key").stdout.strip() == "400 munge"
    logs = list((CLUSTER / "logs").glob("*.log"))
    assert logs and not [p.name for p in logs if key in p.read_text(encoding="utf-8")]


def test_the_report_shows_each_nodes_slurm_state_and_gres(page):
    rows = {row["node"]: row for row in browser.table_rows(page, "nodes")}
    for name in SLURM_NODES:
        assert rows[name]["slurm"] == "IDLE gpu:rtx3090:4", rows[name]
    assert rows["cluster-node2"]["slurm"] == "not a Slurm node"



def test_a_reboot_waits_for_the_slurm_job_then_is_deferred_with_the_node_drained():
    text = log("reboot-deferred")
    assert "REBOOT DEFERRED on cluster-node3: Slurm jobs still run" in text, text[-3000:]
    job, shown = (CLUSTER / "logs" / "reboot-deferred-job.txt").read_text(encoding="utf-8").splitlines()[:2]
    assert job == "RUNNING cluster-node3", job
    assert re.search(r"State=MIXED\+DRAIN", shown), shown
    assert "Reason=gpu_rig: reboot for the NVIDIA driver" in shown, shown
    assert recap("reboot-deferred")["cluster-node3"]["failed"] == 0



# -- users and the shared home ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NODES)
def test_the_cluster_account_has_the_same_uid_on_every_node(name):
    assert node(name, "getent", "passwd", "alice").stdout.split(":")[2:4] == ["2001", "2001"]


def test_a_users_file_written_on_the_head_is_read_on_another_node_over_nfs(addresses):
    made = node("cluster-node1", "su", "-", "alice", "-c", "echo written-on-node1 > /cluster/home/alice/hello")
    assert made.returncode == 0, made.stderr
    tools = node("cluster-node3", "sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnfs-utils")
    assert tools.returncode == 0, tools.stdout[-2000:] + tools.stderr
    url = f"nfs://{addresses['cluster-node1']}/cluster/home/alice/hello?version=4&uid=2001&gid=2001"
    read = wait_for("the file over NFS from cluster-node3",
                    lambda: node("cluster-node3", "nfs-cat", url).stdout.strip() == "written-on-node1", timeout=150)
    assert read
    back = f"nfs://{addresses['cluster-node1']}/cluster/home/alice/from-node3?version=4&uid=2001&gid=2001"
    copy = f"echo written-on-node3 > /tmp/from-node3 && nfs-cp /tmp/from-node3 '{back}'"
    wrote = node("cluster-node3", "sh", "-c", copy)
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    owner = node("cluster-node1", "stat", "-c", "%u %s", "/cluster/home/alice/from-node3").stdout.split()
    assert owner == ["2001", "17"], owner
