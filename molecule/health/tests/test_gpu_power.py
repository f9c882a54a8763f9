"""gpu_power: the boot unit and its script, ordered after nvidia-persistenced; every GPU's limit applied even
when one GPU refuses; nothing applied without a GPU."""

from __future__ import annotations

SCRIPT = "/usr/local/libexec/gpu-rig/gpu-power-limits"
UNIT = "/etc/systemd/system/gpu-power-limits.service"
# A stand-in for nvidia-smi (a test fixture, not NVIDIA's program): records each call, refuses GPU 1.
STAND_IN = """#!/bin/sh
echo "$*" >> /tmp/nvidia-smi.calls
[ "$2" = 1 ] && { echo "Changing power management limit is not supported for GPU: 00000000:21:00.0." >&2; exit 3; }
exit 0
"""


def test_the_unit_runs_the_script(host):
    unit = host.file(UNIT)
    assert unit.exists and unit.mode == 0o644 and unit.user == "root"
    starts = [line for line in unit.content_string.splitlines() if line.startswith("ExecStart=")]
    assert starts == [f"ExecStart={SCRIPT}"], starts
    assert host.run(f"systemd-analyze verify {UNIT}").rc == 0


def test_the_script_applies_every_gpus_limit_and_names_the_one_that_refused(host):
    script = host.file(SCRIPT)
    assert script.exists and script.mode == 0o755 and script.user == "root"
    host.run("rm -f /tmp/nvidia-smi.calls")
    host.run(f"cat > /tmp/nvidia-smi-stand-in <<'EOF'\n{STAND_IN}EOF\nchmod 0755 /tmp/nvidia-smi-stand-in")
    run = host.run(f"NVIDIA_SMI=/tmp/nvidia-smi-stand-in {SCRIPT}")
    assert run.rc == 1, "a GPU that refused its limit must fail the script"
    assert "GPU 1: setting 280 W failed" in run.stderr, run.stderr
    # The refused run of 4 x 350 W (side effect) did not rewrite anything: these are the converge's limits.
    assert host.file("/tmp/nvidia-smi.calls").content_string.splitlines() == [
        "-i 0 -pl 280", "-i 1 -pl 280", "-i 2 -pl 260", "-i 3 -pl 280"]


def test_the_unit_is_ordered_after_nvidia_persistenced(host):
    show = host.run("systemctl show gpu-power-limits.service -p After -p Wants -p Type").stdout
    assert "nvidia-persistenced.service" in show.split("After=")[1].splitlines()[0], show
    assert "Wants=nvidia-persistenced.service" in show
    assert "Type=oneshot" in show


def test_the_unit_is_enabled_for_boot(host):
    assert host.run("systemctl is-enabled gpu-power-limits.service").stdout.strip() == "enabled"


def test_without_a_driver_the_unit_skips_instead_of_failing(host):
    start = host.run("systemctl start gpu-power-limits.service")
    assert start.rc == 0, start.stderr
    state = host.run("systemctl show gpu-power-limits.service -p ConditionResult -p Result").stdout
    assert "ConditionResult=no" in state and "Result=success" in state, state
    assert host.run("systemctl is-failed gpu-power-limits.service").stdout.strip() != "failed"
