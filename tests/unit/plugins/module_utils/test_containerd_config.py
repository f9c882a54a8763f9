"""containerd_config: config.toml imports a drop-in (no other byte moves); the nvidia runtime per containerd major."""

from __future__ import annotations

import tomllib

import pytest
from conftest import FIXTURES, plugin

mod = plugin("module_utils", "containerd_config")
CONTAINERD = FIXTURES / "containerd"
GLOB = "/etc/containerd/conf.d/*.toml"
LINE = f'imports = ["{GLOB}"]\n'


def text_of(name: str) -> str:
    return (CONTAINERD / name).read_text()


def assert_parse_is_original_plus_glob(before: str, after: str) -> None:
    original, parsed = tomllib.loads(before), tomllib.loads(after)
    assert parsed == {**original, "imports": [*original.get("imports", []), GLOB]}


# ------------------------------------------------------------------------------------- pure functions -------------

def test_default_config_empty_imports_array_gains_the_glob():
    before = text_of("default_1.7.toml")
    after, imports = mod.plan_import(before, GLOB)
    assert imports == [GLOB]
    assert after == before.replace("imports = []\n", LINE, 1)
    assert_parse_is_original_plus_glob(before, after)


def test_user_config_gets_imports_right_after_version_and_keeps_everything_else():
    before = text_of("user.toml")
    after, imports = mod.plan_import(before, GLOB)
    assert imports == [GLOB]
    assert "version = 2\n" + LINE + "\n[grpc]\n" in after
    assert after.replace(LINE, "", 1) == before  # every other byte, comments included, is where it was
    assert_parse_is_original_plus_glob(before, after)


def test_version_3_config_gets_imports_after_version():
    before = text_of("v3_user.toml")
    after, _ = mod.plan_import(before, GLOB)
    assert after.splitlines()[:3] == [before.splitlines()[0], "version = 3", LINE.rstrip("\n")]
    assert after.replace(LINE, "", 1) == before
    assert_parse_is_original_plus_glob(before, after)


def test_single_line_imports_is_appended_to():
    before = text_of("other_import.toml")
    after, imports = mod.plan_import(before, GLOB)
    assert imports == ["/etc/containerd/other.toml", GLOB]
    assert after == before.replace('"/etc/containerd/other.toml"]', f'"/etc/containerd/other.toml", "{GLOB}"]')
    assert_parse_is_original_plus_glob(before, after)


def test_multi_line_imports_gets_a_line_of_its_own():
    before = text_of("multiline_imports.toml")
    after, imports = mod.plan_import(before, GLOB)
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
    # No imports yet: a new line after the version line (or at the top, after a leading comment block).
    ("", LINE),
    ("# header\n# more\n\n[grpc]\n", f"# header\n# more\n{LINE}\n[grpc]\n"),
    ("# only a comment", f"# only a comment\n{LINE}"),
    ('root = "/x"\n[grpc]\n', f'{LINE}root = "/x"\n[grpc]\n'),
    ("version = 2  # 1.x\n[grpc]\n", f"version = 2  # 1.x\n{LINE}[grpc]\n"),
    ("version = 2", f"version = 2\n{LINE}"),
])
def test_array_layouts_and_new_imports_line_placement(before, expected):
    after, _ = mod.plan_import(before, GLOB)
    assert after == expected
    assert_parse_is_original_plus_glob(before, after)


def test_imports_inside_tables_and_strings_are_not_mistaken_for_the_top_level_key():
    before = (
        'version = 2\nbanner = """\n[not a table]\nimports = ["/nope"]\n"""\n'
        '[plugins."x"]\n  imports = ["/inside/a/table"]\n'
    )
    after, imports = mod.plan_import(before, GLOB)
    assert imports == [GLOB]
    assert after == before.replace("version = 2\n", "version = 2\n" + LINE, 1)
    assert_parse_is_original_plus_glob(before, after)


def test_second_pass_changes_nothing():
    for name in ("default_1.7.toml", "user.toml", "other_import.toml", "multiline_imports.toml", "v3_user.toml"):
        once, _ = mod.plan_import(text_of(name), GLOB)
        twice, imports = mod.plan_import(once, GLOB)
        assert twice == once, name
        assert imports.count(GLOB) == 1, name


def test_invalid_toml_and_non_array_imports_are_refused():
    with pytest.raises(ValueError, match="not valid TOML"):
        mod.plan_import(text_of("invalid.toml"), GLOB)
    with pytest.raises(ValueError, match="imports is a str"):
        mod.plan_import('imports = "/etc/containerd/x.toml"\n', GLOB)


# ------------------------------------------------------------------------------- containerd --version -------------

@pytest.mark.parametrize(("output", "major"), [
    ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", 1),  # Debian 12
    ("containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1", 1),  # Debian 13
    ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da", 1),  # Docker's containerd.io
    ("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376", 2),
])
def test_containerd_major_from_real_version_lines(output, major):
    assert mod.containerd_major(output + "\n") == major


@pytest.mark.parametrize("output", ["", "containerd", "bash: containerd: command not found"])
def test_containerd_major_refuses_what_it_cannot_read(output):
    with pytest.raises(ValueError, match="cannot read a version"):
        mod.containerd_major(output)


# ---------------------------------------------------------------------------------- the nvidia runtime -------------

DROPIN = "/etc/containerd/conf.d/99-nvidia.toml"
BINARY = "/usr/bin/nvidia-container-runtime"
CRI2 = ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"]


def plan(text, major, **kw):
    return mod.plan_runtime(text, major, "nvidia", BINARY, DROPIN, **kw)


def dig(tree, path):
    for part in path:
        tree = tree[part]
    return tree


@pytest.mark.parametrize("name", ["rich_user.toml", "debian_1.6.toml", "default_1.7.toml", "user.toml"])
def test_1x_appends_a_block_and_keeps_every_user_byte_and_value(name):
    before = text_of(name)
    result = plan(before, 1)
    assert result.mechanism == "config.toml" and result.dropin is None
    assert result.config.startswith(before)  # the user's text, byte for byte, comes first
    original, parsed = tomllib.loads(before), tomllib.loads(result.config)
    nvidia = dig(parsed, [*CRI2, "nvidia"])
    assert nvidia["runtime_type"] == "io.containerd.runc.v2" and nvidia["options"]["BinaryName"] == BINARY
    del dig(parsed, CRI2)["nvidia"]
    if not dig(parsed, CRI2):  # the runtimes table existed only for nvidia
        del dig(parsed, CRI2[:-1])["runtimes"]
    assert parsed == original or tomllib.loads(before) == _prune(parsed)


def _prune(tree):
    """Drop tables left empty (the block creates the path down to runtimes)."""
    if isinstance(tree, dict):
        return {k: _prune(v) for k, v in tree.items() if not (isinstance(v, dict) and not _prune(v))}
    return tree


def test_1x_runtime_follows_runcs_systemd_cgroup():
    parsed = tomllib.loads(plan(text_of("rich_user.toml"), 1).config)
    assert dig(parsed, [*CRI2, "nvidia", "options", "SystemdCgroup"]) is True
    assert "SystemdCgroup" not in dig(tomllib.loads(plan(text_of("debian_1.6.toml"), 1).config),
                                      [*CRI2, "nvidia", "options"])


def test_1x_second_pass_is_byte_identical_and_a_changed_block_is_replaced_in_place():
    once = plan(text_of("rich_user.toml"), 1).config
    assert plan(once, 1).config == once
    other = mod.plan_runtime(once, 1, "nvidia", "/opt/bin/nvidia-container-runtime", DROPIN).config
    assert other.count(mod.BEGIN) == 1 and "/opt/bin/nvidia-container-runtime" in other and BINARY not in other
    assert other.startswith(text_of("rich_user.toml"))


def test_1x_version_1_config_uses_the_short_plugin_id():
    result = plan("# no version line: version 1\n[plugins.cri]\n  sandbox_image = \"x\"\n", 1)
    assert result.runtime_path == ["plugins", "cri", "containerd", "runtimes", "nvidia"]
    assert tomllib.loads(result.config)["plugins"]["cri"]["sandbox_image"] == "x"


def test_1x_missing_file_gets_version_2_and_the_block():
    result = plan(None, 1)
    parsed = tomllib.loads(result.config)
    assert parsed["version"] == 2 and dig(parsed, [*CRI2, "nvidia", "options", "BinaryName"]) == BINARY


def test_dockers_config_with_cri_disabled_is_left_alone_on_both_majors():
    for major in (1, 2):
        result = plan(text_of("docker_containerd_io.toml"), major)
        assert result.mechanism == "none" and "disabled_plugins" in result.reason
        assert result.config == text_of("docker_containerd_io.toml") and result.dropin is None


def test_a_users_own_nvidia_runtime_is_kept():
    result = plan(text_of("user_nvidia_runtime.toml"), 1)
    assert result.mechanism == "user" and result.config == text_of("user_nvidia_runtime.toml")


def test_inline_runtimes_table_is_refused_untouched():
    with pytest.raises(ValueError, match="inline"):
        plan(text_of("inline_runtimes.toml"), 1)


def test_2x_full_v3_config_gets_a_v3_drop_in_and_an_import():
    before = text_of("containerd2_full_v3.toml")
    result = plan(before, 2)
    assert result.mechanism == "drop-in"
    assert result.runtime_path == ["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "nvidia"]
    dropin = tomllib.loads(result.dropin)
    assert dropin["version"] == 3
    runtime = dig(dropin, result.runtime_path)
    assert runtime == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": BINARY}}
    assert tomllib.loads(result.config) == {**tomllib.loads(before), "imports": [DROPIN]}


def test_2x_keeps_a_version_2_root_with_a_version_2_drop_in():
    result = plan(text_of("rich_user.toml"), 2)
    dropin = tomllib.loads(result.dropin)
    assert dropin["version"] == 2 and result.runtime_path[1] == "io.containerd.grpc.v1.cri"
    assert dig(dropin, [*CRI2, "nvidia", "options", "SystemdCgroup"]) is True


def test_2x_moves_a_1x_block_out_of_config_toml():
    on_1x = plan(text_of("rich_user.toml"), 1).config
    result = plan(on_1x, 2)
    assert mod.BEGIN not in result.config and result.dropin
    assert tomllib.loads(result.config) == {**tomllib.loads(text_of("rich_user.toml")), "imports": [DROPIN]}


@pytest.mark.parametrize(("text", "major", "message"), [
    ("version = 3\n", 1, "config version 3, which containerd 1.x does not read"),
    ("[plugins.cri]\n", 2, "config version 1, which containerd 2.x does not read"),
])
def test_a_config_version_the_installed_containerd_cannot_read_is_refused(text, major, message):
    with pytest.raises(ValueError, match=message):
        plan(text, major)
