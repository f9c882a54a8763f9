"""containerd_imports (nvidia_container_toolkit): config.toml imports the drop-in glob; no other byte moves."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import FIXTURES, plugin, run_module

mod = plugin("modules", "containerd_imports")
CONTAINERD = FIXTURES / "containerd"
GLOB = "/etc/containerd/conf.d/*.toml"
LINE = f'imports = ["{GLOB}"]\n'


def text_of(name: str) -> str:
    return (CONTAINERD / name).read_text()


def fixture(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "config.toml"
    shutil.copy(CONTAINERD / name, target)
    return target


def run_main(monkeypatch, capsys, args: dict, check_mode: bool = False, diff: bool = False) -> tuple[int, dict]:
    return run_module(mod, monkeypatch, capsys, args, check_mode, diff)


def assert_parse_is_original_plus_glob(before: str, after: str) -> None:
    original, parsed = tomllib.loads(before), tomllib.loads(after)
    assert parsed == {**original, "imports": [*original.get("imports", []), GLOB]}


# ------------------------------------------------------------------------------------- pure functions -------------

def test_default_config_empty_imports_array_gains_the_glob():
    before = text_of("default_1.7.toml")
    after, imports = mod.plan(before, GLOB)
    assert imports == [GLOB]
    assert after == before.replace("imports = []\n", LINE, 1)
    assert_parse_is_original_plus_glob(before, after)


def test_user_config_gets_imports_right_after_version_and_keeps_everything_else():
    before = text_of("user.toml")
    after, imports = mod.plan(before, GLOB)
    assert imports == [GLOB]
    assert "version = 2\n" + LINE + "\n[grpc]\n" in after
    assert after.replace(LINE, "", 1) == before  # every other byte, comments included, is where it was
    assert_parse_is_original_plus_glob(before, after)


def test_version_3_config_gets_imports_after_version():
    before = text_of("v3_user.toml")
    after, _ = mod.plan(before, GLOB)
    assert after.splitlines()[:3] == [before.splitlines()[0], "version = 3", LINE.rstrip("\n")]
    assert after.replace(LINE, "", 1) == before
    assert_parse_is_original_plus_glob(before, after)


def test_single_line_imports_is_appended_to():
    before = text_of("other_import.toml")
    after, imports = mod.plan(before, GLOB)
    assert imports == ["/etc/containerd/other.toml", GLOB]
    assert after == before.replace('"/etc/containerd/other.toml"]', f'"/etc/containerd/other.toml", "{GLOB}"]')
    assert_parse_is_original_plus_glob(before, after)


def test_multi_line_imports_gets_a_line_of_its_own():
    before = text_of("multiline_imports.toml")
    after, imports = mod.plan(before, GLOB)
    assert imports == ["/etc/containerd/runtimes.toml", "/etc/containerd/registries.toml", GLOB]
    # The last item was single-quoted, so the new one is too; the comment after the first item stays put.
    assert after == before.replace(
        "    '/etc/containerd/registries.toml'\n]", f"    '/etc/containerd/registries.toml',\n    '{GLOB}'\n]")
    assert_parse_is_original_plus_glob(before, after)


@pytest.mark.parametrize(("before", "expected"), [
    ('imports = [\n  "/a",\n  "/b",\n]\n', f'imports = [\n  "/a",\n  "/b",\n  "{GLOB}",\n]\n'),
    ('imports = [\n  "/a",\n  "/b", # keep\n]\n', f'imports = [\n  "/a",\n  "/b", # keep\n  "{GLOB}",\n]\n'),
    ('imports = [\n  "/a"  # keep\n]\n', f'imports = [\n  "/a",  # keep\n  "{GLOB}"\n]\n'),
    ('imports = [\n  "/a"]\n', f'imports = [\n  "/a",\n  "{GLOB}"]\n'),
    ('imports = [\n  "/a", "/b"\n]\n', f'imports = [\n  "/a", "/b", "{GLOB}"\n]\n'),
    ('imports = ["/a",]\n', f'imports = ["/a", "{GLOB}",]\n'),
    ("imports = [ ]  # none yet\n", f'imports = ["{GLOB}" ]  # none yet\n'),
    ('imports = [\r\n  "/a",\r\n]\r\n', f'imports = [\r\n  "/a",\r\n  "{GLOB}",\r\n]\r\n'),
])
def test_array_layouts(before, expected):
    after, _ = mod.plan(before, GLOB)
    assert after == expected
    assert_parse_is_original_plus_glob(before, after)


@pytest.mark.parametrize(("before", "expected"), [
    ("", LINE),
    ("# header\n# more\n\n[grpc]\n", f"# header\n# more\n{LINE}\n[grpc]\n"),
    ("# only a comment", f"# only a comment\n{LINE}"),
    ('root = "/x"\n[grpc]\n', f'{LINE}root = "/x"\n[grpc]\n'),
    ("version = 2  # 1.x\n[grpc]\n", f"version = 2  # 1.x\n{LINE}[grpc]\n"),
    ("version = 2", f"version = 2\n{LINE}"),
])
def test_new_imports_line_placement(before, expected):
    after, _ = mod.plan(before, GLOB)
    assert after == expected
    assert_parse_is_original_plus_glob(before, after)


def test_imports_inside_tables_and_strings_are_not_mistaken_for_the_top_level_key():
    before = (
        'version = 2\nbanner = """\n[not a table]\nimports = ["/nope"]\n"""\n'
        '[plugins."x"]\n  imports = ["/inside/a/table"]\n'
    )
    after, imports = mod.plan(before, GLOB)
    assert imports == [GLOB]
    assert after == before.replace("version = 2\n", "version = 2\n" + LINE, 1)
    assert_parse_is_original_plus_glob(before, after)


def test_second_pass_changes_nothing():
    for name in ("default_1.7.toml", "user.toml", "other_import.toml", "multiline_imports.toml", "v3_user.toml"):
        once, _ = mod.plan(text_of(name), GLOB)
        twice, imports = mod.plan(once, GLOB)
        assert twice == once, name
        assert imports.count(GLOB) == 1, name


def test_invalid_toml_and_non_array_imports_are_refused():
    with pytest.raises(ValueError, match="not valid TOML"):
        mod.plan(text_of("invalid.toml"), GLOB)
    with pytest.raises(ValueError, match="imports is a str"):
        mod.plan('imports = "/etc/containerd/x.toml"\n', GLOB)


# ------------------------------------------------------------------------------------------- main() -------------

def test_main_writes_once_keeping_mode(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "user.toml")
    path.chmod(0o600)
    rc, first = run_main(monkeypatch, capsys, {"path": str(path)})
    assert rc == 0 and first["changed"] and first["imports"] == [GLOB]
    assert path.read_text().replace(LINE, "", 1) == text_of("user.toml")
    assert path.stat().st_mode & 0o777 == 0o600
    rc, second = run_main(monkeypatch, capsys, {"path": str(path)})
    assert rc == 0 and not second["changed"] and second["imports"] == [GLOB]


def test_main_invalid_toml_fails_and_leaves_the_file(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "invalid.toml")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path)})
    assert rc == 1 and result["failed"] and "not valid TOML" in result["msg"]
    assert path.read_bytes() == (CONTAINERD / "invalid.toml").read_bytes()


def test_main_check_mode_reports_and_diffs_without_writing(tmp_path, monkeypatch, capsys):
    path = fixture(tmp_path, "other_import.toml")
    rc, result = run_main(monkeypatch, capsys, {"path": str(path)}, check_mode=True, diff=True)
    assert rc == 0 and result["changed"]
    assert result["imports"] == ["/etc/containerd/other.toml", GLOB]
    assert result["diff"]["before"] == text_of("other_import.toml")
    assert GLOB in result["diff"]["after"]
    assert path.read_bytes() == (CONTAINERD / "other_import.toml").read_bytes()


def test_main_creates_a_missing_file_with_the_config_version(tmp_path, monkeypatch, capsys):
    path = tmp_path / "etc/containerd/config.toml"
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "config_version": 3, "import_glob": "/x/*.toml"})
    assert rc == 0 and result["changed"]
    assert path.read_text() == 'version = 3\nimports = ["/x/*.toml"]\n'
    assert path.stat().st_mode & 0o777 == 0o644


def test_main_missing_file_without_create_fails(tmp_path, monkeypatch, capsys):
    path = tmp_path / "config.toml"
    rc, result = run_main(monkeypatch, capsys, {"path": str(path), "create": False})
    assert rc == 1 and "does not exist" in result["msg"] and not path.exists()
