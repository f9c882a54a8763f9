"""kernel_log.read: journalctl first, then dmesg; a log with no entries is no log, and says why."""

from __future__ import annotations

from conftest import plugin

kernel_log = plugin("module_utils", "kernel_log")

# What journalctl prints in a container without a journal of this boot (systemd 252, Debian 12).
NO_ENTRIES = "-- No entries --\n"
DMESG_DENIED = "dmesg: read kernel buffer failed: Operation not permitted\n"


def runner(answers: dict[str, tuple[int, str, str]]):
    calls: list[list[str]] = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        return answers.get(argv[0], (127, "", f"{argv[0]}: command not found"))

    return run, calls


def test_journalctl_is_read_first():
    run, calls = runner({"journalctl": (0, "[ 1.0] kernel: Linux version 6.1\n", "")})
    assert kernel_log.read(None, run) == ("[ 1.0] kernel: Linux version 6.1\n", "journalctl -k -b")
    assert calls[0][:3] == ["journalctl", "-k", "-b"]


def test_no_entries_falls_back_to_dmesg():
    run, _ = runner({"journalctl": (0, NO_ENTRIES, ""), "dmesg": (0, "[ 0.0] Linux version\n", "")})
    assert kernel_log.read(None, run) == ("[ 0.0] Linux version\n", "dmesg")


def test_no_log_at_all_is_none_with_both_reasons():
    run, _ = runner({"journalctl": (0, NO_ENTRIES, ""), "dmesg": (1, "", DMESG_DENIED)})
    text, why = kernel_log.read(None, run)
    assert text is None
    assert "journalctl: -- No entries --" in why and "Operation not permitted" in why


def test_a_file_is_read_and_a_missing_file_says_so(tmp_path):
    log = tmp_path / "kernel.log"
    log.write_text("NVRM: Xid (PCI:0000:41:00): 79, GPU has fallen off the bus.\n")
    assert kernel_log.read(log)[1] == str(log)
    assert kernel_log.read(tmp_path / "missing") == (None, f"{tmp_path / 'missing'} does not exist")


def test_a_missing_program_is_127():
    assert kernel_log.run(["no-such-program-here"])[0] == 127
