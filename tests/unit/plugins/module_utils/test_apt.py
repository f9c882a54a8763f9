"""apt/dpkg output parsing, on real captures (tests/fixtures/apt/README.md names each origin)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

apt = plugin("module_utils", "apt")
apt_filters = plugin("filter", "apt")
APT = FIXTURES / "apt"


def capture_body(name: str) -> dict[str, str]:
    """The outputs of a capture file, keyed by the '$ command' line before each."""
    outputs: dict[str, list[str]] = {}
    command = ""
    for line in (APT / name).read_text().splitlines():
        if line.startswith("$ "):
            command = line[2:]
            outputs[command] = []
        elif not line.startswith("[rc="):
            outputs[command].append(line)
    return {k: "\n".join(v) + "\n" for k, v in outputs.items()}


POLICY = capture_body("debian12_policy_dpkg_nvidia-smi.txt")


def test_policy_of_an_installed_and_an_unoffered_package():
    found = apt.parse_policy(POLICY["apt-cache policy dpkg nvidia-smi"])
    assert found == {"dpkg": {"installed": "1.21.23", "candidate": "1.21.23"},
                     "nvidia-smi": {"installed": None, "candidate": None}}


def test_policy_of_a_package_apt_does_not_know_is_empty():
    assert apt.parse_policy(POLICY["apt-cache policy no-such-package"]) == {}


@pytest.mark.parametrize(("package", "candidate", "installed"), [
    ("dpkg", "1.21.23", "1.21.23"), ("nvidia-smi", "", ""), ("no-such-package", "", "")])
def test_policy_filters(package, candidate, installed):
    text = POLICY["apt-cache policy dpkg nvidia-smi"]
    assert apt_filters.apt_candidate(text, package) == candidate
    assert apt_filters.apt_installed(text, package) == installed


def test_dpkg_query_with_versions_reads_status_and_holds():
    rows = apt.parse_dpkg_query((APT / "debian12_dpkg-query_after_nvidia_driver_580.txt").read_text())
    held = {r["name"] for r in rows if apt.is_held(r)}
    assert "nvidia-kernel-open-dkms" in held
    assert all(r["status"] for r in rows)


@pytest.mark.parametrize(("listing", "installed"), [
    ("docker.io ii \npodman un \n", ["docker.io"]),
    ("docker-ce hi \n", ["docker-ce"]),
    ("nvidia-smi 580.95.05-1 ii \nnvidia-driver-pinning-570  un \nold 1.0 rc \n", ["nvidia-smi"]),
    ("", []),
])
def test_installed_packages_in_either_listing_format(listing, installed):
    assert apt.installed_packages(listing) == installed


def test_madison_keeps_its_order_once_each():
    assert apt.parse_madison((APT / "debian12_madison_nvidia-driver.txt").read_text())[:2] == [
        "535.309.01-0+deb12u1", "535.261.03-1"]


@pytest.mark.parametrize(("version", "upstream"), [
    ("580.95.05-1", "580.95.05"), ("1:535.247.01-1~deb12u1", "535.247.01"), ("", ""), (None, "")])
def test_upstream_version(version, upstream):
    assert apt.upstream_version(version) == upstream


# ------------------------------------------------------------------------------------------ locks -------------

LISTS_LOCK = (FIXTURES / "apt" / "debian12_update_lists_lock_held.txt").read_text()
FRONTEND_LOCK = (FIXTURES / "apt" / "debian12_install_frontend_lock_held.txt").read_text()
DPKG_LOCK = (FIXTURES / "apt" / "debian12_dpkg_configure_frontend_lock_held.txt").read_text()


def test_the_real_lock_messages_are_recognised_and_other_failures_are_not():
    assert all(apt.lock_held(text) for text in (LISTS_LOCK, FRONTEND_LOCK, DPKG_LOCK))
    assert not apt.lock_held("E: The repository 'http://x.invalid/r ./ Release' does not have a Release file.\n")


def test_a_held_lock_is_waited_for_until_it_is_free():
    answers = [(100, LISTS_LOCK), (100, LISTS_LOCK), (0, "Reading package lists...\n")]
    now = [0.0]
    rc, _output, waited = apt.run_waiting_for_locks(lambda: answers.pop(0), 300,
                                                   sleep=lambda s: now.__setitem__(0, now[0] + s),
                                                   clock=lambda: now[0])
    assert (rc, waited) == (0, 4.0) and answers == []


def test_a_lock_held_past_the_timeout_fails_with_apts_message_and_other_errors_fail_at_once():
    now = [0.0]
    calls = []

    def held():
        calls.append(1)
        return 100, LISTS_LOCK

    rc, output, waited = apt.run_waiting_for_locks(held, 10, sleep=lambda s: now.__setitem__(0, now[0] + s),
                                                   clock=lambda: now[0])
    assert rc == 100 and "Could not get lock /var/lib/apt/lists/lock" in output and waited >= 10
    calls.clear()
    rc, output, _ = apt.run_waiting_for_locks(lambda: (calls.append(1) or (100, "E: Release file missing\n")), 10)
    assert rc == 100 and len(calls) == 1


def test_update_for_one_sources_file_leaves_the_others_and_their_lists():
    assert apt.update_argv("/etc/apt/sources.list.d/cuda.sources") == [
        "apt-get", "update", "-q", "--error-on=any", "-o", "Dir::Etc::sourcelist=/etc/apt/sources.list.d/cuda.sources",
        "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0"]


def test_print_uris_lists_what_apt_would_fetch_with_its_size():
    text = (APT / "print_uris" / "debian12_nvidia_cuda_toolkit.txt").read_text()
    fetched = apt.parse_print_uris(text)
    assert len(fetched) == 62
    assert all(item["uri"].startswith("http://") and item["file"].endswith(".deb") for item in fetched)
    assert apt.human_size(sum(item["size"] for item in fetched)) == "1.6 GB"


def test_print_uris_of_an_unknown_package_fetches_nothing():
    # apt-get exits 100 with `E: Unable to locate package ...`: the caller tells that from "nothing to fetch".
    assert apt.parse_print_uris((APT / "print_uris" / "debian12_unknown_package.txt").read_text()) == []


def test_sizes_read_as_apt_writes_them():
    assert [apt.human_size(n) for n in (0, 999, 53228, 1_621_680_000, 4_200_000_000)] == [
        "0 B", "999 B", "53.2 kB", "1.6 GB", "4.2 GB"]
