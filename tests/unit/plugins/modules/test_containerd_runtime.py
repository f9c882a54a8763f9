"""containerd_runtime: the files it writes, through symlinks, with backups, and what it refuses."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from conftest import FIXTURES, plugin, run_module

mod = plugin("modules", "containerd_runtime")
CONTAINERD = FIXTURES / "containerd"
V16 = "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
V2 = "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376"


def setup(tmp_path: Path, name: str | None) -> tuple[Path, Path]:
    config, dropin = tmp_path / "config.toml", tmp_path / "conf.d" / "99-nvidia.toml"
    if name:
        shutil.copy(CONTAINERD / name, config)
    return config, dropin


def run(monkeypatch, capsys, config: Path, dropin: Path, version: str, **kw) -> tuple[int, dict]:
    args = {"path": str(config), "dropin_path": str(dropin), "containerd_version": version, **kw}
    check_mode, diff = args.pop("check_mode", False), args.pop("diff", False)
    return run_module(mod, monkeypatch, capsys, args, check_mode, diff)


def test_1x_writes_the_block_once_with_a_backup_and_removes_an_old_drop_in(tmp_path, monkeypatch, capsys):
    config, dropin = setup(tmp_path, "rich_user.toml")
    config.chmod(0o600)
    dropin.parent.mkdir()
    dropin.write_text("# an earlier drop-in, which 1.x would let reset the CRI section\n")
    rc, first = run(monkeypatch, capsys, config, dropin, V16, backup=True)
    assert rc == 0 and first["changed"] and first["mechanism"] == "config.toml"
    assert not dropin.exists()
    assert Path(first["backup_file"]).read_text() == (CONTAINERD / "rich_user.toml").read_text()
    assert config.stat().st_mode & 0o777 == 0o600
    rc, second = run(monkeypatch, capsys, config, dropin, V16, backup=True)
    assert rc == 0 and not second["changed"] and "backup_file" not in second


def test_2x_writes_the_drop_in_and_the_import(tmp_path, monkeypatch, capsys):
    config, dropin = setup(tmp_path, "containerd2_full_v3.toml")
    rc, result = run(monkeypatch, capsys, config, dropin, V2, dropin_header="# managed\n")
    assert rc == 0 and result["changed"] and result["mechanism"] == "drop-in"
    assert dropin.read_text().startswith("# managed\nversion = 3\n")
    assert tomllib.loads(config.read_text())["imports"] == [str(dropin)]
    rc, again = run(monkeypatch, capsys, config, dropin, V2, dropin_header="# managed\n")
    assert rc == 0 and not again["changed"]


def test_config_toml_symlink_stays_a_link_and_its_target_is_written(tmp_path, monkeypatch, capsys):
    target = tmp_path / "kept" / "containerd.toml"
    target.parent.mkdir()
    shutil.copy(CONTAINERD / "debian_1.6.toml", target)
    config, dropin = setup(tmp_path, None)
    config.symlink_to(target)
    rc, result = run(monkeypatch, capsys, config, dropin, V16)
    assert rc == 0 and result["changed"] and config.is_symlink()
    assert "runtimes.nvidia" in target.read_text()


def test_check_mode_diffs_both_files_and_writes_nothing(tmp_path, monkeypatch, capsys):
    config, dropin = setup(tmp_path, "containerd2_full_v3.toml")
    rc, result = run(monkeypatch, capsys, config, dropin, V2, check_mode=True, diff=True)
    assert rc == 0 and result["changed"] and not dropin.exists()
    assert config.read_text() == (CONTAINERD / "containerd2_full_v3.toml").read_text()
    assert [d["after_header"] for d in result["diff"]] == [str(config), str(dropin)]


def test_dockers_config_and_a_missing_file_with_cri_disabled_change_nothing(tmp_path, monkeypatch, capsys):
    config, dropin = setup(tmp_path, "docker_containerd_io.toml")
    rc, result = run(monkeypatch, capsys, config, dropin, V16)
    assert rc == 0 and not result["changed"] and result["mechanism"] == "none"


def test_invalid_toml_and_bad_inputs_fail_untouched(tmp_path, monkeypatch, capsys):
    config, dropin = setup(tmp_path, "invalid.toml")
    rc, result = run(monkeypatch, capsys, config, dropin, V16)
    assert rc == 1 and str(config) in result["msg"] and "not valid TOML" in result["msg"]
    assert config.read_bytes() == (CONTAINERD / "invalid.toml").read_bytes()
    for kw, message in [({"name": "nv]\nx"}, "name"), ({"binary": "relative/bin"}, "absolute path"),
                        ({"dropin_header": "version = 9"}, "dropin_header"),
                        ({"containerd_version": "containerd"}, "cannot read a version"),
                        ({"containerd_version": "containerd x 3.0.0"}, "3.x")]:
        version = kw.pop("containerd_version", V16)
        rc, result = run(monkeypatch, capsys, config, dropin, version, **kw)
        assert rc == 1 and message in result["msg"], kw
