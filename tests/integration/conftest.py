"""Fixtures for tests that exercise the test tooling against real apt in a container."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness" / "aptmirror"))

import aptmirror  # noqa: E402

IMAGE = os.environ.get("LAB_TEST_IMAGE", "localhost/gpu-lab:debian12")


class Container:
    """A throwaway container on podman's default bridge, driven with podman exec."""

    def __init__(self, image: str) -> None:
        self.name = f"lab-it-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["podman", "run", "-d", "--rm", "--systemd=false", "--name", self.name, image, "sleep", "infinity"],
            check=True, capture_output=True,
        )

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", "exec", self.name, "sh", "-c", script],
                              capture_output=True, text=True, check=False)

    def put(self, source: Path, dest: str) -> None:
        subprocess.run(["podman", "cp", str(source), f"{self.name}:{dest}"], check=True)

    def remove(self) -> None:
        subprocess.run(["podman", "rm", "-f", "-t", "0", self.name], capture_output=True, check=False)


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The self-test spec, built and served on podman's bridge for one session."""
    out = tmp_path_factory.mktemp("mirror")
    info = aptmirror.build(ROOT / "harness/aptmirror/specs/selftest.yml", out)
    probe = Container(IMAGE)  # the bridge exists only while a container uses it
    try:
        port = 18000 + os.getpid() % 1000
        with aptmirror.serving(out, aptmirror.podman_gateway(), port):
            info["container_url"] = f"http://host.containers.internal:{port}"
            yield info
    finally:
        probe.remove()


@pytest.fixture
def container() -> Iterator[Container]:
    box = Container(IMAGE)
    yield box
    box.remove()
