"""The cluster lock filters, on package facts in the shape ansible.builtin.package_facts returns them.

The versions are those the lab's nodes ran (Debian 12's and 13's docker.io from Debian's archive, the
container toolkit and CUDA stand-ins of the test mirror, whose versions are NVIDIA's).
"""

from __future__ import annotations

from ansible_collections.gpu_rig.cluster.plugins.filter.lock import (
    lock_differences,
    lock_entry,
    lock_merge,
    with_versions,
)


def packages(**versions: str) -> dict:
    """package_facts' shape; a keyword's '_' is '-' in the package name, and docker_io is docker.io."""
    def name(key: str) -> str:
        return "docker.io" if key == "docker_io" else key.replace("_", "-")
    return {name(key): [{"name": name(key), "version": version, "source": "apt"}] for key, version in versions.items()}


BOOKWORM = packages(docker_io="20.10.24+dfsg1-1+deb12u1+b6", nvidia_container_toolkit="1.18.0-1",
                    cuda_toolkit_12_8="12.8.1-1", cuda_toolkit_12_9="12.9.1-1", cuda_12_9="12.9.1-1",
                    containerd="1.6.20~ds1-1+deb12u2", bash="5.2.15-2+b8")
TRIXIE = packages(docker_io="26.1.5+dfsg1-9+deb13u1+b1", nvidia_container_toolkit="1.17.8-1")


def test_an_entry_holds_the_managed_packages_only():
    entry = lock_entry(BOOKWORM, "580.95.05")
    assert entry == {
        "nvidia_driver_version": "580.95.05",
        "cuda_toolkit_package_versions": {"cuda-toolkit-12-8": "12.8.1-1", "cuda-toolkit-12-9": "12.9.1-1"},
        "nvidia_container_toolkit_version": "1.18.0-1",
        "container_engine_docker_package_versions": {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"},
    }


def test_what_is_not_installed_is_left_out():
    assert lock_entry(packages(bash="5.2"), "") == {}


def test_nodes_of_one_release_merge_and_releases_stay_apart():
    entries = {"n1": lock_entry(BOOKWORM, "580.95.05"), "n2": lock_entry(TRIXIE, "580.95.05"),
               "n3": lock_entry(BOOKWORM, "580.95.05")}
    merged = lock_merge(entries, {"n1": "bookworm", "n2": "trixie", "n3": "bookworm"})
    assert merged["conflicts"] == []
    assert merged["lock"]["bookworm"]["nvidia_container_toolkit_version"] == "1.18.0-1"
    assert merged["lock"]["trixie"]["nvidia_container_toolkit_version"] == "1.17.8-1"


def test_nodes_of_one_release_that_disagree_are_named():
    older = lock_entry(packages(nvidia_container_toolkit="1.17.8-1", docker_io="20.10.24+dfsg1-1+deb12u1+b6"), "")
    merged = lock_merge({"n1": lock_entry(BOOKWORM, "580.95.05"), "n3": older}, {"n1": "bookworm", "n3": "bookworm"})
    assert "bookworm: nvidia_container_toolkit_version is '1.18.0-1' on n1 but '1.17.8-1' on n3" in merged["conflicts"]
    assert any("nvidia_driver_version" in c and "n3" in c for c in merged["conflicts"])


def test_a_source_node_decides_for_its_release():
    older = lock_entry(packages(nvidia_container_toolkit="1.17.8-1"), "")
    merged = lock_merge({"n1": lock_entry(BOOKWORM, "580.95.05"), "n3": older}, {"n1": "bookworm", "n3": "bookworm"},
                        "n3")
    assert merged["conflicts"] == [] and merged["lock"]["bookworm"] == older


def test_differences_name_each_package_and_version():
    lock = lock_entry(BOOKWORM, "580.95.05")
    drifted = lock_entry(packages(docker_io="20.10.24+dfsg1-1+deb12u1+b6", nvidia_container_toolkit="1.17.8-1",
                                  cuda_toolkit_12_8="12.8.1-1", cuda_toolkit_13_0="13.0.2-1"), "580.95.05")
    assert lock_differences(drifted, lock) == [
        "cuda-toolkit-12-9 is not installed, the lock says 12.9.1-1",
        "cuda-toolkit-13-0 13.0.2-1 is installed but not in the lock",
        "nvidia_container_toolkit_version is 1.17.8-1, the lock says 1.18.0-1",
    ]
    assert lock_differences(lock, lock) == []


def test_no_lock_means_no_difference():
    assert lock_differences(lock_entry(BOOKWORM, "580.95.05"), {}) == []


def test_apt_names_carry_the_locked_versions():
    assert with_versions(["docker.io", "docker-ce"], {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"}) == [
        "docker.io=20.10.24+dfsg1-1+deb12u1+b6", "docker-ce"]
