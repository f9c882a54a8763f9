"""fileio.write_atomic: whole content, through symlinks, mode and owner kept; a refused file changes nothing."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import plugin

fileio = plugin("module_utils", "fileio")


def test_a_new_file_gets_the_content_and_mode_0644(tmp_path):
    path = tmp_path / "sub" / "daemon.json"
    fileio.write_atomic(path, "{}\n")
    assert path.read_text() == "{}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("old\n")
    path.chmod(0o600)
    fileio.write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_stays_a_link_and_its_target_gets_the_content(tmp_path):
    target = tmp_path / "real" / "daemon.json"
    target.parent.mkdir()
    target.write_text("{}\n")
    link = tmp_path / "daemon.json"
    link.symlink_to(target)
    written = fileio.write_atomic(link, '{"a": 1}\n')
    assert link.is_symlink(), "the symlink was replaced by a regular file"
    assert target.read_text() == '{"a": 1}\n'
    assert written == target.resolve()


def test_a_chain_of_symlinks_is_followed_to_its_end(tmp_path):
    target = tmp_path / "c"
    target.write_text("x")
    (tmp_path / "b").symlink_to(target)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    fileio.write_atomic(tmp_path / "a", "y")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    assert target.read_text() == "y"


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "sources.list"
    link.symlink_to(tmp_path / "elsewhere.list")
    fileio.write_atomic(link, "deb x y z\n")
    assert link.is_symlink() and (tmp_path / "elsewhere.list").read_text() == "deb x y z\n"


def test_bytes_and_line_endings_are_written_as_given(tmp_path):
    path = tmp_path / "f"
    fileio.write_atomic(path, "a\r\nb\r\n")
    assert path.read_bytes() == b"a\r\nb\r\n"
    fileio.write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


def test_a_refused_validation_leaves_the_file_and_no_temporary(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{}\n")

    def refuse(tmp: str) -> None:
        assert os.path.exists(tmp)
        raise ValueError("invalid")

    with pytest.raises(ValueError, match="invalid"):
        fileio.write_atomic(path, "broken", validate=refuse)
    assert path.read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"]


def test_the_owner_is_kept_when_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can give a file another owner")
    path = tmp_path / "f"
    path.write_text("x")
    os.chown(path, 1234, 5678)
    fileio.write_atomic(path, "y")
    assert (path.stat().st_uid, path.stat().st_gid) == (1234, 5678)


def test_read_text_keeps_line_endings_and_says_none_for_a_missing_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a\r\n")
    assert fileio.read_text(path) == "a\r\n"
    assert fileio.read_text(tmp_path / "missing") is None
