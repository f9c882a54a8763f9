"""The signed test mirror against real apt: trusted with the right key, refused with another."""

from __future__ import annotations

from pathlib import Path

SOURCE = "/etc/apt/sources.list.d/lab-selftest.list"


def configure(container, mirror: dict, key: str) -> None:
    container.put(Path(mirror["root"]) / "keys" / f"{key}.gpg", "/usr/share/keyrings/lab-selftest.gpg")
    line = f"deb [signed-by=/usr/share/keyrings/lab-selftest.gpg] {mirror['container_url']}/lab/selftest/ /"
    assert container.sh(f"echo '{line}' > {SOURCE}").returncode == 0


def test_apt_installs_from_the_mirror_when_the_key_matches(container, mirror):
    configure(container, mirror, "mirror")
    update = container.sh(f"apt-get update -o Dir::Etc::sourcelist={SOURCE} -o Dir::Etc::sourceparts=- 2>&1")
    assert update.returncode == 0, update.stdout
    assert "NO_PUBKEY" not in update.stdout and "not signed" not in update.stdout, update.stdout
    install = container.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y lab-fixture-needs-hello 2>&1")
    assert install.returncode == 0, install.stdout
    # The dependency came along, its file is in place and its postinst ran.
    assert container.sh("cat /usr/share/lab-fixture-hello/hello.txt").stdout == "hello from the test mirror\n"
    assert container.sh("cat /var/lib/lab-fixture-hello.postinst").stdout.strip() == "configured"


def test_every_stand_in_says_it_is_a_test_fixture(container, mirror):
    configure(container, mirror, "mirror")
    container.sh(f"apt-get update -o Dir::Etc::sourcelist={SOURCE} -o Dir::Etc::sourceparts=-")
    for name in ("lab-fixture-hello", "lab-fixture-needs-hello"):
        show = container.sh(f"apt-cache show {name}")
        assert "[TEST FIXTURE]" in show.stdout and "no NVIDIA software" in show.stdout, show.stdout


def test_apt_refuses_the_mirror_when_the_key_does_not_match(container, mirror):
    configure(container, mirror, "wrong")
    update = container.sh(f"apt-get update -o Dir::Etc::sourcelist={SOURCE} -o Dir::Etc::sourceparts=- 2>&1")
    assert "NO_PUBKEY" in update.stdout or "not signed" in update.stdout, update.stdout
    install = container.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y lab-fixture-hello 2>&1")
    assert install.returncode != 0, f"apt installed from a mirror signed by another key:\n{install.stdout}"
    assert container.sh("test -e /usr/share/lab-fixture-hello/hello.txt").returncode != 0
