"""docker_daemon_json (nvidia_container_toolkit): the NVIDIA runtime is merged in; the user's settings stay."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, plugin, run_module

mod = plugin("modules", "docker_daemon_json")
DOCKER = FIXTURES / "docker"
NVIDIA = {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}


def fixture(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "daemon.json"
    shutil.copy(DOCKER / name, target)
    return target


def run_main(monkeypatch, capsys, args: dict, check_mode: bool = False, diff: bool = False) -> tuple[int, dict]:
    return run_module(mod, monkeypatch, capsys, args, check_mode, diff)


# ------------------------------------------------------------------------------------- pure functions -------------

def test_every_user_key_survives_with_its_value_and_order():
    user = mod.parse((DOCKER / "user.json").read_text())
    merged = mod.merge(user, NVIDIA, features={"cdi": True})
    for key, value in user.items():
        if key not in ("runtimes", "features"):
            assert merged[key] == value, key
    assert list(merged) == list(user)
    assert merged["runtimes"] == {"crun": {"path": "/usr/local/bin/crun"}, **NVIDIA}
    assert list(merged["runtimes"]) == ["crun", "nvidia"]
    assert merged["features"] == {"buildkit": True, "cdi": True}
    assert "default-runtime" not in merged
    assert user["runtimes"] == {"crun": {"path": "/usr/local/bin/crun"}}  # the input is not mutated


def test_runtimes_and_features_are_created_on_an_empty_config():
    merged = mod.merge(mod.parse(""), NVIDIA, "nvidia", {"cdi": True})
    assert merged == {"runtimes": NVIDIA, "default-runtime": "nvidia", "features": {"cdi": True}}
    assert mod.render(merged).endswith("}\n")
    assert mod.render(merged).startswith('{\n  "runtimes": {\n    "nvidia": {\n')


def test_a_users_own_nvidia_runtime_is_kept_as_it_is():
    current = {"runtimes": {"nvidia": {"path": "/opt/my/nvidia-container-runtime", "runtimeArgs": ["--debug"]}}}
    merged = mod.merge(current, {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}})
    assert merged["runtimes"]["nvidia"] == {"path": "/opt/my/nvidia-container-runtime", "runtimeArgs": ["--debug"]}


def test_replace_runtimes_sets_the_keys_and_keeps_the_others():
    current = {"runtimes": {"nvidia": {"path": "/opt/old/nvidia-container-runtime", "extra": 1}}}
    merged = mod.merge(current, {"nvidia": {"path": "nvidia-container-runtime"}}, replace_runtimes=True)
    assert merged["runtimes"]["nvidia"] == {"path": "nvidia-container-runtime", "extra": 1}


def test_default_runtime_is_set_when_asked():
    current = mod.parse((DOCKER / "default_runc.json").read_text())
    assert mod.merge(current, NVIDIA, "nvidia")["default-runtime"] == "nvidia"


def test_users_default_runtime_is_left_alone_when_not_asked():
    current = mod.parse((DOCKER / "default_runc.json").read_text())
    merged = mod.merge(current, NVIDIA, "")
    assert merged["default-runtime"] == "runc"
    assert mod.merge(current, NVIDIA, "", remove_default_runtime_if_ours=True)["default-runtime"] == "runc"


def test_a_users_default_runtime_nvidia_is_kept_unless_the_role_owns_it():
    current = mod.merge({"log-level": "warn"}, NVIDIA, "nvidia")
    kept = mod.merge(current, NVIDIA, "")
    assert kept["default-runtime"] == "nvidia", "the user's default-runtime was deleted"
    removed = mod.merge(current, NVIDIA, "", remove_default_runtime_if_ours=True)
    assert "default-runtime" not in removed
    assert removed["runtimes"] == NVIDIA and removed["log-level"] == "warn"


@pytest.mark.parametrize(("name", "where"), [("invalid.json", "line 4 column 1"), ("user.json", None)])
def test_parse_reports_line_and_column(name, where):
    text = (DOCKER / name).read_text()
    if where is None:
        assert mod.parse(text)["storage-driver"] == "vfs"
        return
    with pytest.raises(mod.InvalidConfig, match=f"not valid JSON.*{where}"):
        mod.parse(text)


@pytest.mark.parametrize("text", ["[]\n", '"x"', "null"])
def test_non_object_json_is_invalid(text):
    with pytest.raises(mod.InvalidConfig, match="not a JSON object"):
        mod.parse(text)


def test_runtimes_that_is_not_an_object_is_invalid():
    with pytest.raises(mod.InvalidConfig, match='"runtimes" set to a list'):
        mod.merge({"runtimes": []}, NVIDIA)


# ------------------------------------------------------------------------------------------- main() -------------

def test_main_merges_the_user_file_then_changes_nothing(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    path.chmod(0o640)
    args = {"path": str(path), "runtimes": NVIDIA, "features": {"cdi": True}}
    rc, first = run_main(monkeypatch, capsys, args)
    assert rc == 0 and first["changed"] and not first["invalid"]
    written = path.read_text()
    assert written.endswith("}\n") and '\n  "data-root": "/srv/docker",\n' in written
    on_disk = json.loads(written)
    assert on_disk == first["config"]
    assert on_disk["storage-driver"] == "vfs" and on_disk["live-restore"] is True
    assert on_disk["log-opts"] == {"max-size": "50m", "max-file": "5"}
    assert on_disk["runtimes"]["crun"] == {"path": "/usr/local/bin/crun"}
    assert path.stat().st_mode & 0o777 == 0o640
    rc, second = run_main(monkeypatch, capsys, args)
    assert rc == 0 and not second["changed"]
    assert path.read_text() == written


def test_main_leaves_a_differently_formatted_but_equal_file_alone(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "configured_compact.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "features": {"cdi": True}})
    assert rc == 0 and not result["changed"]
    assert path.read_bytes() == (DOCKER / "configured_compact.json").read_bytes()


@pytest.mark.parametrize("name", ["empty.json", None])
def test_main_starts_from_nothing_for_an_empty_or_missing_file(tmp_path, monkeypatch, capsys, name):
    path = fixture(tmp_path, name) if name else tmp_path / "etc/docker/daemon.json"
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "default_runtime": "nvidia"})
    assert rc == 0 and result["changed"]
    assert json.loads(path.read_text()) == {"runtimes": NVIDIA, "default-runtime": "nvidia"}


def test_main_leaves_an_invalid_file_untouched(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "invalid.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA})
    assert rc == 0
    assert result["invalid"] is True and result["changed"] is False and not result.get("failed")
    assert "not valid JSON" in result["msg"] and "line 4 column 1" in result["msg"]
    assert path.read_bytes() == (DOCKER / "invalid.json").read_bytes()


@pytest.mark.parametrize("validate", ["false %s", f"{sys.executable} -c 'import sys; sys.exit(1)' %s"])
def test_main_failing_validation_leaves_the_file_and_fails(tmp_path, monkeypatch, capsys, validate):
    path = fixture(tmp_path, "user.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "validate": validate})
    assert rc == 1 and result["failed"]
    assert "validation" in result["msg"]
    assert path.read_bytes() == (DOCKER / "user.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]  # the temporary file is gone


def test_main_validation_sees_the_new_json(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    check = "import json, sys; sys.exit(0 if 'nvidia' in json.load(open(sys.argv[1]))['runtimes'] else 1)"
    args = {"path": str(path), "runtimes": NVIDIA, "validate": f'{sys.executable} -c "{check}" %s'}
    rc, result = run_main(monkeypatch, capsys, args)
    assert rc == 0 and result["changed"]
    assert "nvidia" in json.loads(path.read_text())["runtimes"]


def test_main_validate_without_placeholder_fails(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "validate": "true"})
    assert rc == 1 and "%s" in result["msg"]


def test_main_check_mode_writes_nothing_and_shows_the_diff(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "default_runc.json")
    args = {"path": str(path), "runtimes": NVIDIA, "default_runtime": "nvidia", "features": {"cdi": True}}
    rc, result = run_main(monkeypatch, capsys, args, check_mode=True, diff=True)
    assert rc == 0 and result["changed"]
    assert path.read_bytes() == (DOCKER / "default_runc.json").read_bytes()
    assert result["diff"]["before"] == (DOCKER / "default_runc.json").read_text()
    assert json.loads(result["diff"]["after"])["default-runtime"] == "nvidia"
    missing = tmp_path / "absent/daemon.json"
    rc, result = run_main(monkeypatch, capsys, {"path": str(missing), "runtimes": NVIDIA}, check_mode=True)
    assert rc == 0 and result["changed"] and not missing.parent.exists()


def test_main_backup_keeps_the_previous_file(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "backup": True})
    assert rc == 0 and result["changed"]
    assert Path(result["backup_file"]).read_bytes() == (DOCKER / "user.json").read_bytes()


def test_main_switching_default_runtime_off_removes_only_ours(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA, "default_runtime": "nvidia"})
    assert json.loads(path.read_text())["default-runtime"] == "nvidia"
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA})
    assert rc == 0 and not result["changed"], "without ownership the default-runtime stays"
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA,
                                                "remove_default_runtime_if_ours": True})
    assert rc == 0 and result["changed"] and "default-runtime" not in json.loads(path.read_text())
    runc = fixture(tmp_path, "default_runc.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(runc), "runtimes": NVIDIA})
    assert json.loads(runc.read_text())["default-runtime"] == "runc"


def test_a_file_that_is_not_utf8_is_reported_and_left_untouched(tmp_path, monkeypatch, capsys):
    path = tmp_path / "daemon.json"
    path.write_bytes(b'{"data-root": "/var/lib/d\xe9"}\n')
    code, result = run_module(mod, monkeypatch, capsys, {"path": str(path), "runtimes": NVIDIA})
    assert code == 0 and result["invalid"] is True and "UTF-8" in result["msg"], result
    assert path.read_bytes() == b'{"data-root": "/var/lib/d\xe9"}\n'


def test_settings_set_top_level_keys_and_keep_the_rest(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "default_runc.json")
    before = json.loads(path.read_text())
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "settings": {"live-restore": True}})
    assert rc == 0 and result["changed"]
    assert json.loads(path.read_text()) == {**before, "live-restore": True}
    rc, again = run_main(monkeypatch, capsys, {"path": str(path), "settings": {"live-restore": True}})
    assert rc == 0 and not again["changed"]


def test_settings_may_not_reach_the_keys_other_options_own(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.json")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "settings": {"default-runtime": "nvidia"}})
    assert rc == 1 and "default-runtime" in result["msg"]
    assert path.read_bytes() == (DOCKER / "user.json").read_bytes()
