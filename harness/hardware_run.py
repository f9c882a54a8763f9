#!/usr/bin/env python3
"""A hardware run: the project's checks on one real GPU host, recorded for docs/hardware-runs/.

Run on the GPU host, from the repository root (ansible-core importable by this Python):

    python3 harness/hardware_run.py --out /tmp/run [--inventory inventory/hardware-run] [--stress-seconds 20]
    python3 harness/hardware_run.py --out /tmp/run --roles     # the roles' own GPU paths instead

It writes, under --out:

  env.txt              date, kernel, nvidia-smi -L, topology, nvcc, the driver's /proc version, Python
  smi_qx.xml           nvidia-smi -q -x of this run
  gpu_check.jsonl      the project's CUDA check (roles/cuda_toolkit/files/gpu_check.cu) compiled with nvcc
                       for --archs, run on every GPU, then a bounded stress
  stress_samples.csv   temperature, power, clocks and clock event reasons sampled during the stress
  validate.log         playbooks/validate.yml (gpu_health, memory_health) against the inventory's host_vars
  gpu_power_check.log  playbooks/gpu_power.yml --check --diff
  reports/             the roles' JSON reports

With --roles it runs playbooks/site.yml --tags cuda_toolkit_verify,gpu_health,gpu_health_stress instead and
writes roles_verify.log and the reports. Nothing here changes the node's driver, packages or power limits.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
# ansible-core may be importable without its console scripts (wheels on PYTHONPATH).
RUNNER = [sys.executable, "-c",
          "import sys; from ansible.cli.playbook import main; sys.argv[0] = 'ansible-playbook'; main()"]


def ansible_env() -> dict[str, str]:
    # A host carrying only ansible-core has none of ansible.cfg's callback collections: use built-in ones.
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit", JUNIT_OUTPUT_DIR="/tmp/junit",
                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_LOCAL_TEMP="/tmp/ansible-local", ANSIBLE_REMOTE_TEMP="/tmp/ansible-remote")


def sh(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def record(handle: IO[str], cmd: list[str]) -> None:
    result = sh(cmd)
    handle.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}[rc={result.returncode}]\n\n")


def playbook(out: Path, log: str, inventory: str, args: list[str]) -> int:
    result = sh([*RUNNER, "-i", inventory, *args], cwd=ROOT, env=ansible_env())
    (out / log).write_text(f"$ ansible-playbook -i {inventory} {' '.join(args)}\n"
                           f"{result.stdout}{result.stderr}[rc={result.returncode}]\n")
    return result.returncode


def cuda_check(out: Path, archs: list[str], seconds: int) -> None:
    binary = Path("/tmp/gpu_check")
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in archs]
    build = sh(["nvcc", "-O2", "-std=c++14", *gencode, "-o", str(binary),
                str(ROOT / "roles/cuda_toolkit/files/gpu_check.cu")])
    with (out / "gpu_check.jsonl").open("w") as log, (out / "stress_samples.csv").open("w") as samples:
        log.write(f"# nvcc rc={build.returncode} {build.stderr.strip()}\n")
        log.write("".join(f"# {line}\n" for line in sh(["cuobjdump", "--list-elf", str(binary)]).stdout.splitlines()))
        check = sh([str(binary)])
        log.write(f"# $ gpu_check  (rc={check.returncode})\n{check.stdout}")
        sampler = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=timestamp,index,temperature.gpu,power.draw,clocks.sm,"
             "clocks_event_reasons.active,utilization.gpu", "--format=csv", "-l", "2"],
            stdout=samples, stderr=subprocess.STDOUT)
        stress = sh([str(binary), "--stress", str(seconds)])
        time.sleep(1)
        sampler.terminate()
        sampler.wait()
        log.write(f"# $ gpu_check --stress {seconds}  (rc={stress.returncode})\n{stress.stdout}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "/tmp/hardware-run")))
    parser.add_argument("--inventory", default="inventory/hardware-run")
    parser.add_argument("--stress-seconds", type=int, default=20)
    parser.add_argument("--archs", default="86,90", help="CUDA architectures to build the check for")
    parser.add_argument("--roles", action="store_true", help="run the roles' own GPU paths instead")
    args = parser.parse_args()
    out, reports = args.out, args.out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    if args.roles:
        rc = playbook(out, "roles_verify.log", args.inventory, [
            "playbooks/site.yml", "--tags", "cuda_toolkit_verify,gpu_health,gpu_health_stress",
            "-e", "gpu_health_stress=true", "-e", f"gpu_health_stress_seconds={args.stress_seconds}",
            "-e", "gpu_health_report_only=true", "-e", f"gpu_health_report_dir={reports}"])
        print((out / "roles_verify.log").read_text()[-9000:])
        return rc
    with (out / "env.txt").open("w") as env:
        for cmd in (["date", "-u"], ["uname", "-r"], ["nvidia-smi", "-L"], ["nvidia-smi", "topo", "-m"],
                    ["nvcc", "--version"], ["cat", "/proc/driver/nvidia/version"], [sys.executable, "--version"]):
            record(env, cmd)
    (out / "smi_qx.xml").write_text(sh(["nvidia-smi", "-q", "-x"]).stdout)
    cuda_check(out, args.archs.split(","), args.stress_seconds)
    playbook(out, "validate.log", args.inventory, [
        "playbooks/validate.yml", "-e", "gpu_health_report_only=true", "-e", "memory_health_report_only=true",
        "-e", f"gpu_health_report_dir={reports}", "-e", f"memory_health_report_dir={reports}"])
    playbook(out, "gpu_power_check.log", args.inventory, ["playbooks/gpu_power.yml", "--check", "--diff"])
    for name, tail in (("gpu_check.jsonl", 3000), ("validate.log", 4000), ("gpu_power_check.log", 2500)):
        print((out / name).read_text()[-tail:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
