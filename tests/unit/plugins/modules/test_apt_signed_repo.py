"""apt_signed_repo (third_party_repo): fingerprints computed like gpg, wrong keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, plugin

mod = plugin("modules", "apt_signed_repo")
KEYS = FIXTURES / "openpgp"
REAL_KEYS = sorted(p.stem for p in KEYS.glob("*.asc") if (KEYS / f"{p.stem}.fingerprint").exists())


@pytest.mark.parametrize("stem", REAL_KEYS)
def test_armored_key_fingerprint_equals_gpgs(stem):
    expected = (KEYS / f"{stem}.fingerprint").read_text().strip()
    certs = mod.certificates((KEYS / f"{stem}.asc").read_bytes())
    assert [c.fingerprint for c in certs] == [expected]


def test_binary_keyring_gives_the_same_fingerprint_and_bytes():
    armored = mod.certificates((KEYS / "gpg_ed25519_testkey.asc").read_bytes())[0]
    binary = mod.certificates((KEYS / "gpg_ed25519_testkey.gpg").read_bytes())[0]
    assert binary.fingerprint == armored.fingerprint
    assert binary.data == armored.data == (KEYS / "gpg_ed25519_testkey.gpg").read_bytes()


def test_only_the_accepted_certificate_is_kept_from_a_bundle():
    bundle = (KEYS / "gpg_ed25519_testkey.gpg").read_bytes() + mod.dearmor(
        (KEYS / "gpg_rsa3072_testkey.asc").read_bytes())
    certs = mod.certificates(bundle)
    assert len(certs) == 2
    wanted = (KEYS / "gpg_rsa3072_testkey.fingerprint").read_text().strip()
    chosen = mod.select(certs, [wanted.lower()[:20] + " " + wanted.lower()[20:]])
    assert [c.fingerprint for c in chosen] == [wanted]
    assert chosen[0].data == mod.dearmor((KEYS / "gpg_rsa3072_testkey.asc").read_bytes())


def test_a_key_with_another_fingerprint_is_not_selected():
    certs = mod.certificates((KEYS / "gpg_ed25519_testkey.asc").read_bytes())
    assert mod.select(certs, ["EB693B3035CD5710E231E123A4B469963BF863CC"]) == []


GARBAGE = [b"<html>404 Not Found</html>", b"", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!\n"]


@pytest.mark.parametrize("blob", GARBAGE)
def test_garbage_is_refused(blob):
    with pytest.raises((mod.KeyError_, ValueError)):
        mod.certificates(blob)


def test_flat_source_has_no_components_and_signed_by():
    text = mod.source_text("cuda", "https://mirror.example/cuda/debian12/x86_64/", ["/"], [], ["amd64"],
                           "/etc/apt/keyrings/cuda.gpg")
    assert "Suites: /\n" in text and "Components" not in text
    assert text.endswith("Signed-By: /etc/apt/keyrings/cuda.gpg\n")
    assert text.startswith("# Managed by Ansible")


def test_a_second_source_for_the_same_uri_is_a_conflict(tmp_path: Path):
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "cuda-debian12-x86_64.list").write_text(
        "deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] "
        "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/ /\n")
    commented = "# deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64 /\n"
    (parts / "other.list").write_text(commented)
    hits = mod.conflicting_sources(parts, parts / "cuda.sources",
                                   "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64")
    assert hits == [str(parts / "cuda-debian12-x86_64.list")]


# ----------------------------------------------------------------- a run killed between writing and updating ------

def repo_args(tmp_path: Path) -> dict:
    stem = "nvidia_cuda-3bf863cc"
    return {"name": "cuda", "uri": "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/",
            "key_url": f"file://{KEYS / f'{stem}.asc'}",
            "fingerprints": [(KEYS / f"{stem}.fingerprint").read_text().strip()],
            "keyring_dir": str(tmp_path / "keyrings"), "sources_dir": str(tmp_path / "sources.list.d"),
            "journal_dir": str(tmp_path / "pending")}


def test_a_failed_update_after_an_interrupted_run_rolls_back_to_before_that_run(tmp_path, monkeypatch, capsys):
    from conftest import run_module

    args = repo_args(tmp_path)
    answers = [(0, "")]
    monkeypatch.setattr(mod, "run_update", lambda module, sources, timeout: (*answers.pop(0), 0.0))
    rc, first = run_module(mod, monkeypatch, capsys, args)
    assert rc == 0 and first["changed"] and not first["recovered"]
    assert not (tmp_path / "pending" / "cuda.json").exists()
    # A run killed after writing: the files are there, the record of "before" (nothing) too.
    (tmp_path / "pending").mkdir(exist_ok=True)
    (tmp_path / "pending" / "cuda.json").write_text('{"key": null, "source": null}\n')
    answers.append((100, "E: Failed to fetch https://developer.download.nvidia.com/...  404  Not Found\n"))
    rc, second = run_module(mod, monkeypatch, capsys, args)
    assert rc == 1 and second["recovered"] and "put back as it was (removed)" in second["msg"]
    assert not (tmp_path / "sources.list.d" / "cuda.sources").exists()
    assert not (tmp_path / "keyrings" / "cuda.gpg").exists()
    assert not (tmp_path / "pending" / "cuda.json").exists()


def test_an_interrupted_run_whose_files_are_right_is_updated_again_then_settles(tmp_path, monkeypatch, capsys):
    from conftest import run_module

    args = repo_args(tmp_path)
    calls = []
    monkeypatch.setattr(mod, "run_update", lambda module, sources, timeout: calls.append(sources) or (0, "", 0.0))
    run_module(mod, monkeypatch, capsys, args)
    (tmp_path / "pending" / "cuda.json").write_text('{"key": null, "source": null}\n')
    rc, again = run_module(mod, monkeypatch, capsys, args)
    assert rc == 0 and again["changed"] and again["recovered"] and len(calls) == 2
    rc, settled = run_module(mod, monkeypatch, capsys, args)
    assert rc == 0 and not settled["changed"] and len(calls) == 2
