#!/usr/bin/env python3
"""Evidence run on a machine with a real NVIDIA GPU (the lent H200).

Run from the repository root with the carried wheels on PYTHONPATH and $OUT set;
it writes at most 8 files under $OUT, which are kept in docs/evidence/:

  env.txt              driver, GPU list, topology, nvcc version, kernel
  smi_qx.xml           nvidia-smi -q -x of this run
  gpu_check.jsonl      the project's CUDA check (roles/cuda_toolkit/files/gpu_check.cu)
                       compiled with nvcc here, run on every GPU, then a bounded stress
  stress_samples.csv   temperature, power and clock event reasons sampled during the stress
  validate.log         playbooks/validate.yml (gpu_health, memory_health) with this machine's host_vars
  gpu_power_check.log  playbooks/gpu-power.yml in --check --diff mode
  reports/             the JSON reports gpu_health.json and memory_health.json

With EVIDENCE_ROLES=1 it runs instead the roles' own GPU paths and writes:

  roles_verify.log     playbooks/site.yml --tags cuda_toolkit_verify,gpu_health,gpu_health_stress:
                       cuda_toolkit compiles the CUDA check with the machine's nvcc and runs it on
                       every GPU; gpu_health checks the GPUs and runs its opt-in stress with sampling
  reports/             gpu_health.json and gpu_stress.json
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("OUT", "/tmp/evidence"))
STRESS_SECONDS = int(os.environ.get("STRESS_SECONDS", "20"))


# The carried ansible-core lives on PYTHONPATH, without its console scripts.
RUNNER = [sys.executable, "-c",
          "import sys; from ansible.cli.playbook import main; sys.argv[0] = 'ansible-playbook'; main()"]


def ansible_env() -> dict[str, str]:
    # The collections of ansible.cfg's timing callbacks are not carried: use a built-in callback.
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit", JUNIT_OUTPUT_DIR="/tmp/junit",
                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_LOCAL_TEMP="/tmp/ansible-local", ANSIBLE_REMOTE_TEMP="/tmp/ansible-remote")


def sh(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def record(handle, title: str, cmd: list[str]) -> None:
    result = sh(cmd)
    handle.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}[rc={result.returncode}]\n\n")


def roles_run(runner: list[str], env: dict[str, str]) -> int:
    args = ["playbooks/site.yml", "--tags", "cuda_toolkit_verify,gpu_health,gpu_health_stress",
            "-e", "gpu_health_stress=true", "-e", f"gpu_health_stress_seconds={STRESS_SECONDS}",
            "-e", "gpu_health_report_only=true", "-e", f"gpu_health_report_dir={OUT / 'reports'}"]
    result = sh([*runner, "-i", "inventory/device", *args], cwd=ROOT, env=env)
    (OUT / "roles_verify.log").write_text(f"$ ansible-playbook -i inventory/device {' '.join(args)}\n"
                                          f"{result.stdout}{result.stderr}[rc={result.returncode}]\n")
    print((OUT / "roles_verify.log").read_text()[-9000:])
    return 0


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "reports").mkdir(exist_ok=True)
    if os.environ.get("EVIDENCE_ROLES") == "1":
        return roles_run(RUNNER, ansible_env())
    with (OUT / "env.txt").open("w") as env:
        for cmd in (["date", "-u"], ["uname", "-r"], ["nvidia-smi", "-L"], ["nvidia-smi", "topo", "-m"],
                    ["nvcc", "--version"], ["cat", "/proc/driver/nvidia/version"], [sys.executable, "--version"]):
            record(env, cmd[0], cmd)
    (OUT / "smi_qx.xml").write_text(sh(["nvidia-smi", "-q", "-x"]).stdout)

    binary = Path("/tmp/gpu_check")
    build = sh(["nvcc", "-O2", "-std=c++14", "-gencode", "arch=compute_86,code=sm_86",
                "-gencode", "arch=compute_90,code=sm_90", "-o", str(binary),
                str(ROOT / "roles/cuda_toolkit/files/gpu_check.cu")])
    with (OUT / "gpu_check.jsonl").open("w") as log:
        log.write(f"# nvcc rc={build.returncode} {build.stderr.strip()}\n")
        elf = sh(["cuobjdump", "--list-elf", str(binary)])
        log.write("".join(f"# {line}\n" for line in elf.stdout.splitlines()))
        check = sh([str(binary)])
        log.write(f"# $ gpu_check  (rc={check.returncode})\n{check.stdout}")
        samples = (OUT / "stress_samples.csv").open("w")
        sampler = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=timestamp,index,temperature.gpu,power.draw,clocks.sm,"
             "clocks_event_reasons.active,utilization.gpu", "--format=csv", "-l", "2"],
            stdout=samples, stderr=subprocess.STDOUT)
        stress = sh([str(binary), "--stress", str(STRESS_SECONDS)])
        time.sleep(1)
        sampler.terminate()
        sampler.wait()
        samples.close()
        log.write(f"# $ gpu_check --stress {STRESS_SECONDS}  (rc={stress.returncode})\n{stress.stdout}")

    env, runner = ansible_env(), RUNNER
    for name, args in (
        ("validate.log", ["playbooks/validate.yml", "-e", "gpu_health_report_only=true",
                          "-e", "memory_health_report_only=true", "-e", f"gpu_health_report_dir={OUT / 'reports'}",
                          "-e", f"memory_health_report_dir={OUT / 'reports'}"]),
        ("gpu_power_check.log", ["playbooks/gpu-power.yml", "--check", "--diff"]),
    ):
        result = sh([*runner, "-i", "inventory/device", *args], cwd=ROOT, env=env)
        (OUT / name).write_text(f"$ ansible-playbook -i inventory/device {' '.join(args)}\n"
                                f"{result.stdout}{result.stderr}[rc={result.returncode}]\n")
    print((OUT / "gpu_check.jsonl").read_text()[-3000:])
    print((OUT / "validate.log").read_text()[-4000:])
    print((OUT / "gpu_power_check.log").read_text()[-2500:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
