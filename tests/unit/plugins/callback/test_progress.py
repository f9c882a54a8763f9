"""progress callback: one line per retry of a step that reports progress, with the time since it began."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import plugin

progress = plugin("callback", "progress")


class Display:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def display(self, text: str, **_: object) -> None:
        self.lines.append(text)


def retry(host: str, task: SimpleNamespace, result: dict) -> SimpleNamespace:
    return SimpleNamespace(_result=result, _host=SimpleNamespace(get_name=lambda: host), _task=task)


def test_each_retry_with_progress_is_printed_and_others_are_not():
    callback = progress.CallbackModule()
    callback._display = Display()
    task = SimpleNamespace(_uuid="t1")
    callback.v2_playbook_on_task_start(task, False)
    callback.started["t1"] -= 75
    line = "fetched 812.3 MB of 1.6 GB; dpkg has not started"
    callback.v2_runner_retry(retry("node1", task, {"gpu_rig_progress": line, "retries": 481, "attempts": 5}))
    callback.v2_runner_retry(retry("node1", task, {"retries": 3, "attempts": 1}))  # an ordinary retried task
    assert callback._display.lines == ["  PROGRESS node1 [1:15] fetched 812.3 MB of 1.6 GB; dpkg has not started"]
