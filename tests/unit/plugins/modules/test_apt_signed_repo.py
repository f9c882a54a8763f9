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
