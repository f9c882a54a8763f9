"""gpu_work: what Docker's answers (real texts) do to the verdict."""

from __future__ import annotations

from conftest import FIXTURES, plugin

mod = plugin("modules", "gpu_work")
gw = plugin("module_utils", "gpu_work")
INSPECT = (FIXTURES / "docker" / "inspect_gpujob_and_gpus_all.json").read_text()
# What docker 20.10 prints when dockerd is down (captured in the Debian 12 container).
DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"


class FakeModule:
    def __init__(self, answers: dict[str, tuple[int, str, str]], binary: str | None = "/usr/bin/docker"):
        self.answers, self.binary, self.calls = answers, binary, []

    def get_bin_path(self, name):
        return self.binary

    def run_command(self, argv):
        self.calls.append(argv[1])
        return self.answers[argv[1]]


def test_running_gpu_container_makes_the_node_busy_and_live_restore_is_read():
    work = gw.Work()
    fake = FakeModule({"info": (0, "true\n", ""), "ps": (0, "d857b39e\nf95cc97f\n", ""), "inspect": (0, INSPECT, "")})
    assert mod.docker(fake, work) is True
    assert work.verdict == "busy" and work.containers[0]["name"] == "gpujob"


def test_docker_down_is_a_note_and_a_failing_docker_is_unknown():
    work = gw.Work()
    assert mod.docker(FakeModule({"info": (1, "", DOWN)}), work) is None
    assert work.verdict == "idle" and "not running" in work.notes[0]
    work = gw.Work()
    mod.docker(FakeModule({"info": (0, "false\n", ""), "ps": (1, "", "permission denied while trying to connect")}),
               work)
    assert work.verdict == "unknown" and "docker ps failed" in work.unknown[0]


def test_no_docker_command_asks_nothing():
    fake = FakeModule({}, binary=None)
    assert mod.docker(fake, gw.Work()) is None and fake.calls == []
