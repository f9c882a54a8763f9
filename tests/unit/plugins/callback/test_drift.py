"""drift callback: diffs of every shape the roles' modules return, and the Markdown report."""

from __future__ import annotations

from conftest import plugin

drift = plugin("callback", "drift")


def test_a_list_of_file_diffs_becomes_one_text_and_unchanged_parts_are_dropped():
    # apt_components and containerd_runtime return one diff per file.
    text = drift._diff_text([
        {"before_header": "/etc/apt/sources.list", "after_header": "/etc/apt/sources.list",
         "before": "deb http://deb.debian.org/debian bookworm main\n",
         "after": "deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware\n"},
        {"before_header": "/etc/containerd/conf.d/99-nvidia.toml", "before": "", "after": ""},
    ])
    assert text.startswith("--- /etc/apt/sources.list (now)\n+++ /etc/apt/sources.list (wanted)\n")
    assert "-deb http://deb.debian.org/debian bookworm main\n" in text
    assert "+deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware\n" in text
    assert "99-nvidia" not in text


def test_prepared_diffs_structured_values_and_long_diffs():
    assert drift._diff_text({"prepared": "+ hello (2.10-3)"}) == "+ hello (2.10-3)"
    text = drift._diff_text({"before": {"state": "stopped"}, "after": {"state": "started"}})
    assert '-  "state": "stopped"' in text and '+  "state": "started"' in text
    assert drift._diff_text({"before": "", "after": "x\n" * 5000}).endswith("... (cut)\n")
    assert drift._diff_text(None) == ""


def test_markdown_lists_every_host_and_only_the_drifted_tasks():
    report = {"started": "2026-12-01T00:00:00+0000", "finished": "2026-12-01T00:05:00+0000", "hosts": {
        "node01": {"status": "clean", "drift": [], "errors": []},
        "node02": {"status": "drifted", "errors": [], "drift": [
            {"task": "nvidia_driver : configure | Blacklist nouveau", "diff": "+blacklist nouveau\n", "items": []}]},
        "node03": {"status": "unreachable", "drift": [], "errors": [
            {"task": "Gathering Facts", "status": "unreachable", "msg": "ssh: connect to host node03 port 22"}]},
    }}
    text = drift.markdown(report)
    assert "| node01 | clean | 0 |\n| node02 | drifted | 1 |\n| node03 | unreachable | 0 |" in text
    assert "## node01" not in text and "## node02" in text and "+blacklist nouveau" in text
    assert "**unreachable** in `Gathering Facts`" in text
