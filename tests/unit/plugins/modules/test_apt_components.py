"""apt_components (node_base): distribution entries gain components; nothing else moves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, plugin

mod = plugin("modules", "apt_components")
SOURCES = FIXTURES / "apt_sources"
DEBIAN = ["main", "contrib", "non-free", "non-free-firmware"]
UBUNTU = ["main", "restricted", "universe", "multiverse"]


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for dest, fixture in files.items():
        target = tmp_path / "etc/apt" / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOURCES / fixture, target)
    return tmp_path


def test_debian12_installer_sources_gain_contrib_and_non_free(tmp_path):
    root = tree(tmp_path, {"sources.list": "debian12_installer.list"})
    changes, entries = mod.plan(root, ["bookworm", "bookworm-updates", "bookworm-security"], DEBIAN, "main")
    before, after = changes[root / "etc/apt/sources.list"]
    assert "deb http://deb.debian.org/debian/ bookworm main non-free-firmware contrib non-free\n" in after
    security = "http://security.debian.org/debian-security bookworm-security"
    assert f"deb-src {security} main non-free-firmware contrib non-free\n" in after
    # Six live entries (deb and deb-src for three suites); the disabled cdrom line is left alone.
    assert len(entries) == 6
    assert after.splitlines()[0] == before.splitlines()[0]
    assert [line for line in after.splitlines() if line.startswith("#")] == [
        line for line in before.splitlines() if line.startswith("#")
    ]


def test_debian13_deb822_components_line_is_extended(tmp_path):
    root = tree(tmp_path, {"sources.list.d/debian.sources": "debian13_debian.sources"})
    changes, entries = mod.plan(root, ["trixie", "trixie-updates", "trixie-security"], DEBIAN, "main")
    _, after = changes[root / "etc/apt/sources.list.d/debian.sources"]
    assert after.count("Components: main non-free-firmware contrib non-free\n") == 2
    assert [e.suites for e in entries] == [["trixie", "trixie-updates"], ["trixie-security"]]
    assert after.replace(" contrib non-free\n", "\n") == (SOURCES / "debian13_debian.sources").read_text()


def test_ubuntu2404_sources_gain_restricted_and_multiverse_and_keep_comments(tmp_path):
    root = tree(tmp_path, {"sources.list.d/ubuntu.sources": "ubuntu2404_ubuntu.sources"})
    suites = ["noble", "noble-updates", "noble-security", "noble-backports"]
    changes, _ = mod.plan(root, suites, UBUNTU, "main")
    before, after = changes[root / "etc/apt/sources.list.d/ubuntu.sources"]
    assert after.count("Components: main universe restricted multiverse\n") == 2
    assert sum(1 for line in after.splitlines() if line.startswith("##")) == sum(
        1 for line in before.splitlines() if line.startswith("##"))


def test_ubuntu2204_only_entries_carrying_main_are_extended(tmp_path):
    root = tree(tmp_path, {"sources.list": "ubuntu2204_sources.list"})
    changes, entries = mod.plan(root, ["jammy", "jammy-updates", "jammy-security"], UBUNTU, "main")
    _, after = changes[root / "etc/apt/sources.list"]
    assert "deb http://archive.ubuntu.com/ubuntu/ jammy main restricted universe multiverse\n" in after
    # The universe-only lines are not distribution anchors and stay as they were.
    assert "deb http://archive.ubuntu.com/ubuntu/ jammy universe\n" in after
    assert "# deb-src http://archive.ubuntu.com/ubuntu/ jammy main restricted\n" in after
    assert len(entries) == 3


def test_third_party_repositories_are_never_touched(tmp_path):
    root = tree(tmp_path, {"sources.list": "debian12_installer.list",
                           "sources.list.d/third_party.list": "third_party.list"})
    changes, entries = mod.plan(root, ["bookworm", "bookworm-security", "bookworm-updates"], DEBIAN, "main")
    assert root / "etc/apt/sources.list.d/third_party.list" not in changes
    assert all(e.path == "/etc/apt/sources.list" for e in entries)


def test_second_pass_changes_nothing(tmp_path):
    root = tree(tmp_path, {"sources.list": "debian12_installer.list",
                           "sources.list.d/debian.sources": "debian13_debian.sources"})
    suites = ["bookworm", "bookworm-updates", "bookworm-security", "trixie", "trixie-updates", "trixie-security"]
    for path, (_, after) in mod.plan(root, suites, DEBIAN, "main")[0].items():
        path.write_text(after)
    changes, entries = mod.plan(root, suites, DEBIAN, "main")
    assert changes == {}
    assert all(e.added == [] and set(DEBIAN) <= set(e.components) for e in entries)


def test_disabled_deb822_stanza_is_ignored(tmp_path):
    text = (SOURCES / "debian13_debian.sources").read_text().replace(
        "Suites: trixie-security\n", "Suites: trixie-security\nEnabled: no\n")
    after, entries = mod.rewrite_deb822(text, "/x.sources", {"trixie-security"}, DEBIAN, "main")
    assert after == text and entries == []


@pytest.mark.parametrize("line", [
    "deb [arch=amd64] http://mirror.local/debian bookworm main # local mirror",
    "deb     http://mirror.local/debian     bookworm    main",
])
def test_options_spacing_and_trailing_comments_survive(line):
    after, entries = mod.rewrite_one_line(line + "\n", "/s", {"bookworm"}, ["main", "contrib"], "main")
    assert after == line.replace("main", "main contrib", 1) + "\n"
    assert entries[0].uri == "http://mirror.local/debian"
