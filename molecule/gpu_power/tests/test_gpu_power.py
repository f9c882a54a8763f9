"""gpu_power: the boot unit, its ordering after nvidia-persistenced, and nothing applied without a GPU."""

from __future__ import annotations

UNIT = "/etc/systemd/system/gpu-power-limits.service"


def test_the_unit_applies_each_gpus_limit(host):
    unit = host.file(UNIT)
    assert unit.exists and unit.mode == 0o644 and unit.user == "root"
    starts = [line for line in unit.content_string.splitlines() if line.startswith("ExecStart=")]
    assert starts == [
        "ExecStart=/usr/bin/nvidia-smi -i 0 -pl 280",
        "ExecStart=/usr/bin/nvidia-smi -i 1 -pl 280",
        "ExecStart=/usr/bin/nvidia-smi -i 2 -pl 260",
        "ExecStart=/usr/bin/nvidia-smi -i 3 -pl 280",
    ], "the refused 350 W run must not have rewritten the unit"


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
