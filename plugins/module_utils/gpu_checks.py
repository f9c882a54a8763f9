"""The GPU checks: facts from nvidia-smi, sysfs and the kernel log judged against the inventory."""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.gpu_event_checks import (
    EVENT_CHECKS,
    check_gpu_lost,
    check_recovery_action,
    check_xids,
)
from ansible_collections.gpu_rig.cluster.plugins.module_utils.gpu_memory_checks import (
    check_ecc,
    check_remapped,
    check_retired,
)
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import norm_bus_id
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check, checker

BAD_CLOCK_EVENTS = ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown")
CHECK_NAMES = ("gpu_count", "gpu_model", "driver_version", "pcie_width", "pcie_gen", "persistence", "power_limit",
               "temperature", "ecc", "retired_pages", "remapped_rows", "recovery_action", "clock_events", *EVENT_CHECKS)


def model_matches(name: str | None, want: str) -> bool:
    name, want = (name or "").strip().lower(), want.strip().lower()
    return name == want or name.endswith(" " + want)


def _expected_width(expected: dict[str, Any], gpu: dict[str, Any]) -> int | None:
    widths = expected.get("pcie_widths")
    if isinstance(widths, dict):
        by_bus = {norm_bus_id(str(k)): v for k, v in widths.items()}
        value = by_bus.get(gpu["pci_address"])
    elif isinstance(widths, list) and gpu["index"] < len(widths):
        value = widths[gpu["index"]]
    else:
        value = None
    return None if value is None else int(value)


def check_gpu_count(facts: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c = checker("gpu_count", None)
    found = len(facts["gpus"])
    pci = facts.get("pci_nvidia_gpus")
    seen = f" ({len(pci)} NVIDIA GPU PCI functions in sysfs)" if pci and len(pci) > found else ""
    want = expected.get("gpu_count")
    if want is None:
        if expected.get("gpus_expected") and found == 0:
            return c("FAIL", f"inventory says this node has GPUs, nvidia-smi lists none{seen}", expected=">0", found=0)
        return c("SKIP", f"no expected gpu_count; nvidia-smi lists {found}{seen}", found=found)
    if found == int(want):
        return c("PASS", f"{found} GPUs{seen}", expected=int(want), found=found)
    return c("FAIL", f"expected {want} GPUs, nvidia-smi lists {found}{seen}", expected=int(want), found=found)


def check_driver(facts: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c = checker("driver_version", None)
    found, module = facts.get("driver_version"), facts.get("kernel_module_version")
    if found and module and found != module:
        return c("FAIL", f"nvidia-smi reports driver {found} but the loaded kernel module is {module}; "
                 "reboot or reload the module", expected=found, found=module)
    exact, branch = expected.get("driver_version"), expected.get("driver_branch")
    if exact:
        want = str(exact)
        ok = found == want
    elif branch:
        want = f"{str(branch).rstrip('.')}.x"
        ok = bool(found) and found.startswith(want[:-1])
    else:
        return c("SKIP", f"no expected driver; installed {found}", found=found)
    if ok:
        return c("PASS", f"driver {found}", expected=want, found=found)
    return c("FAIL", f"expected driver {want}, found {found}", expected=want, found=found)


def check_model(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, want = checker("gpu_model", gpu["index"]), expected.get("gpu_model")
    if not want:
        return c("SKIP", f"no expected gpu_model; {gpu['name']}", found=gpu["name"])
    if model_matches(gpu["name"], str(want)):
        return c("PASS", str(gpu["name"]), expected=want, found=gpu["name"])
    return c("FAIL", f"expected {want}, found {gpu['name']}", expected=want, found=gpu["name"])


def check_pcie(gpu: dict[str, Any], expected: dict[str, Any]) -> list[dict[str, Any]]:
    i, pcie, addr = gpu["index"], gpu["pcie"], gpu["pci_address"]
    c = checker("pcie_width", i)
    want, cur, top = _expected_width(expected, gpu), pcie["width_current"], pcie["width_max"]
    if cur is None:
        width = c("SKIP", "link width not reported", expected=want)
    elif want is not None:
        width = c("PASS" if cur == want else "FAIL", f"{addr} trained x{cur}, expected x{want} (GPU max x{top})",
                  expected=want, found=cur)
    elif top is not None and cur < top:
        width = c("WARN", f"{addr} trained x{cur} of x{top} and no width is expected for this slot", found=cur)
    else:
        width = c("SKIP", f"no expected width for {addr}; trained x{cur}", found=cur)
    c = checker("pcie_gen", i)
    gen_want, gen = expected.get("pcie_gen_max"), pcie["gen_max"]
    detail = (f"max reachable gen {gen} (GPU {pcie['gen_max_gpu']}, host {pcie['gen_max_host']}; "
              f"current {pcie['gen_current']}, which drops at idle)")
    if gen_want is None:
        return [width, c("SKIP", f"no expected pcie_gen_max; {detail}", found=gen)]
    if gen is None:
        return [width, c("SKIP", "PCIe generation not reported", expected=int(gen_want))]
    verdict = "PASS" if gen == int(gen_want) else "FAIL"
    return [width, c(verdict, f"expected gen {gen_want}, {detail}", expected=int(gen_want), found=gen)]


def check_persistence(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, found = checker("persistence", gpu["index"]), gpu["persistence"]
    want = bool(expected.get("persistence", True))
    if found is None:
        return c("SKIP", "persistence mode not reported", expected=want)
    text = {True: "on", False: "off"}
    if found == want:
        return c("PASS", f"persistence mode {text[found]}", expected=want, found=found)
    return c("FAIL", f"expected persistence mode {text[want]}, found {text[found]}", expected=want, found=found)


def check_power(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, power, want = checker("power_limit", gpu["index"]), gpu["power"], expected.get("power_limit_w")
    found = power["enforced_w"] if power["enforced_w"] is not None else power["limit_w"]
    if want is None:
        return c("SKIP", f"no expected power_limit_w; enforced {found} W", found=found)
    want = float(want)
    if found is None:
        return c("SKIP", "power limit not reported (power management unsupported?)", expected=want)
    bounds = f" (allowed {power['min_w']}-{power['max_w']} W, default {power['default_w']} W)"
    if abs(found - want) <= 1:
        return c("PASS", f"enforced limit {found} W{bounds}", expected=want, found=found)
    return c("FAIL", f"expected limit {want} W, enforced {found} W{bounds}", expected=want, found=found)


def check_temperature(gpu: dict[str, Any], margin: int) -> dict[str, Any]:
    c, temp = checker("temperature", gpu["index"]), gpu["temperature"]
    now, slow = temp["gpu_c"], temp["slowdown_c"]
    if now is None or slow is None:
        return c("SKIP", "GPU temperature or slowdown threshold not reported", found=now)
    headroom = slow - now
    found, want = {"gpu_c": now, "slowdown_c": slow, "headroom_c": headroom}, f"< {slow - margin} C"
    if headroom <= 0:
        return c("FAIL", f"{now} C, at or above slowdown {slow} C", expected=want, found=found)
    if headroom <= margin:
        return c("WARN", f"{now} C, within {margin} C of slowdown {slow} C", expected=want, found=found)
    return c("PASS", f"{now} C, {headroom} C below slowdown {slow} C", expected=want, found=found)


def check_clock_events(gpu: dict[str, Any]) -> dict[str, Any]:
    c, active = checker("clock_events", gpu["index"]), gpu["clock_events_active"]
    if not gpu["clock_event_reasons"]:
        return c("SKIP", "clock event reasons not reported")
    bad = [r for r in BAD_CLOCK_EVENTS if gpu["clock_event_reasons"].get(r)]
    if bad:
        return c("WARN", "clocks held down by " + ", ".join(bad), expected=[], found=active)
    return c("PASS", "no slowdown active", expected=[], found=active)


def unavailable_checks(facts: dict[str, Any], expected: dict[str, Any], env: dict[str, Any]) -> list[dict[str, Any]]:
    reason = facts["reason"]
    pci = env.get("nvidia_pci_gpus")
    if env.get("container"):
        skip_why = f"container ({env['container']}): {reason}"
    elif env.get("vm") and not pci:
        skip_why = f"VM ({env['vm']}) without NVIDIA PCI devices: {reason}"
    elif not expected.get("gpus_expected"):
        skip_why = f"no GPUs expected on this node: {reason}"
    else:
        skip_why = None
    # Where GPUs are expected and nvidia-smi gives nothing, each check's input is absent: UNKNOWN, not SKIP.
    checks = [check(name, None, "SKIP", skip_why) if skip_why
              else check(name, None, "UNKNOWN", f"cannot check: {reason}") for name in CHECK_NAMES]
    if skip_why is None:
        want = expected.get("gpu_count")
        pci_note = f"; {len(pci)} NVIDIA GPU PCI functions in sysfs" if pci is not None else ""
        checks[0] = check("gpu_count", None, "FAIL",
                          f"inventory says this node has {want if want is not None else 'GPUs'}, {reason}{pci_note}",
                          expected=want)
        # An Xid 79 or a GPU fallen off the bus in the log often says why nvidia-smi fails.
        checks[CHECK_NAMES.index("xid")] = check_xids(facts, env)
        checks[CHECK_NAMES.index("gpu_lost")] = check_gpu_lost(facts, env)
    return checks


def evaluate(facts: dict[str, Any], expected: dict[str, Any], temperature_margin_c: int = 5,
             env: dict[str, Any] | None = None, ecc_correctable_warn: int = 100) -> list[dict[str, Any]]:
    """Judge facts (parse_smi_xml output plus xid_events/kernel_log) against the inventory's expectations."""
    expected = expected or {}
    if not facts.get("available", True):
        return unavailable_checks(facts, expected, env or {})
    checks = [check_gpu_count(facts, expected), check_driver(facts, expected)]
    for gpu in facts["gpus"]:
        checks += [check_model(gpu, expected), *check_pcie(gpu, expected), check_persistence(gpu, expected),
                   check_power(gpu, expected), check_temperature(gpu, temperature_margin_c),
                   check_ecc(gpu, ecc_correctable_warn), check_retired(gpu), check_remapped(gpu),
                   check_recovery_action(gpu), check_clock_events(gpu)]
    checks += [check_xids(facts, env or {}), check_gpu_lost(facts, env or {})]
    return checks
