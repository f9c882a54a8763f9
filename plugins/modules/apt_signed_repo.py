#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: a third-party apt repository whose signing key is verified by full fingerprint."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_signed_repo
short_description: Add a third-party apt repository whose key is verified by full fingerprint
description:
  - Downloads the repository's signing key, parses it (armored or binary OpenPGP) and compares the
    primary key's full fingerprint with O(fingerprints). A key that matches none is refused before
    anything is written.
  - Writes only the matching certificate to C(<keyring_dir>/<name>.gpg) and a deb822 source
    C(<sources_dir>/<name>.sources) with C(Signed-By) pointing at it.
  - After a change, runs C(apt-get update) for this source only. If that fails (repository
    unreachable, wrong key, bad path), both files are put back as they were, so apt keeps working,
    and the module fails with apt's message.
  - Before writing, the previous files are recorded in C(<journal_dir>/<name>.json) and the record is removed
    once the update succeeded. A run killed in between leaves the record; the next run then updates again
    even when the files look right, and rolls back to the recorded files when the update fails.
  - Waits up to O(lock_timeout) seconds for another apt or dpkg to let go of apt's lists lock.
  - Refuses to add a repository whose URI another source file already lists (apt would reject the
    conflicting Signed-By values).
options:
  name: {description: Base name of the keyring and source files., type: str, required: true}
  uri: {description: Repository URL (a mirror's for air-gapped sites)., type: str, required: true}
  suites: {description: Suites; C(/) for a flat repository., type: list, elements: str, default: ["/"]}
  components: {description: Components (none for a flat repository)., type: list, elements: str, default: []}
  architectures: {description: Architectures to restrict the source to., type: list, elements: str, default: []}
  key_url:
    description: URL of the signing key (http, https or file).
    type: str
    required: true
  fingerprints:
    description: Accepted full fingerprints of the primary key (spaces and case ignored).
    type: list
    elements: str
    required: true
  state: {description: present or absent., type: str, default: present, choices: [present, absent]}
  keyring_dir: {description: Where keyrings go., type: path, default: /etc/apt/keyrings}
  sources_dir: {description: Where the source goes., type: path, default: /etc/apt/sources.list.d}
  update_cache:
    description: Refresh this source's lists after a change, rolling back on failure.
    type: bool
    default: true
  validate_certs: {description: Verify TLS certificates when fetching the key., type: bool, default: true}
  journal_dir: {description: Where a change in progress is recorded., type: path, default: /var/lib/gpu-rig/apt-pending}
  lock_timeout: {description: Seconds to wait for apt's lists lock., type: int, default: 300}
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Add NVIDIA's CUDA repository
  gpu_rig.cluster.apt_signed_repo:
    name: cuda
    uri: https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/
    key_url: https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/3bf863cc.pub
    fingerprints: [EB693B3035CD5710E231E123A4B469963BF863CC]
"""

RETURN = r"""
fingerprint: {description: Fingerprint of the trusted key., type: str, returned: state=present}
keyring: {description: Path of the keyring., type: str, returned: always}
source: {description: Path of the deb822 source., type: str, returned: always}
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.gpu_rig.cluster.plugins.module_utils.apt import run_update
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import write_atomic

ARMOR = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----(.*?)-----END PGP PUBLIC KEY BLOCK-----", re.S)
PUBLIC_KEY = 6
PUBLIC_SUBKEY = 14
SECRET_KEY = 5


class KeyError_(ValueError):
    """The key material cannot be used."""


@dataclass
class Certificate:
    """One primary key with everything that follows it up to the next primary key."""

    fingerprint: str
    data: bytes


def normalize(fingerprint: str) -> str:
    return re.sub(r"[\s:]", "", fingerprint).upper()


def dearmor(blob: bytes) -> bytes:
    """Return binary OpenPGP data; armored input is decoded, binary returned as is."""
    text = blob.decode("ascii", errors="ignore")
    blocks = ARMOR.findall(text)
    if not blocks:
        if blob[:1] and blob[0] & 0x80:
            return blob
        raise KeyError_("neither an armored nor a binary OpenPGP public key")
    out = b""
    for block in blocks:
        lines = [ln.strip() for ln in block.replace("\r", "").split("\n")][1:]  # after the BEGIN line
        if "" in lines:  # armor headers ("Version: ...") end at the first blank line
            lines = lines[lines.index("") + 1:]
        out += base64.b64decode("".join(ln for ln in lines if ln and not ln.startswith("=")))
    return out


def packets(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """Split OpenPGP data into (tag, start, end, body) packets (RFC 4880/9580 framing)."""
    out, pos = [], 0
    while pos < len(data):
        start, head = pos, data[pos]
        if not head & 0x80:
            raise KeyError_(f"bad packet header at byte {pos}")
        if head & 0x40:  # new format
            tag, pos = head & 0x3F, pos + 1
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise KeyError_("partial body lengths do not occur in keys")
        else:  # old format
            tag, kind, pos = (head >> 2) & 0x0F, head & 0x03, pos + 1
            if kind == 3:
                length = len(data) - pos
            else:
                size = (1, 2, 4)[kind]
                length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        end = pos + length
        if end > len(data):
            raise KeyError_("truncated key data")
        out.append((tag, start, end, data[pos:end]))
        pos = end
    return out


def key_fingerprint(body: bytes) -> str:
    version = body[0]
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise KeyError_(f"unsupported OpenPGP key version {version}")


def certificates(blob: bytes) -> list[Certificate]:
    """Every public certificate in the key material, with its primary fingerprint."""
    data = dearmor(blob)
    certs: list[Certificate] = []
    starts: list[tuple[int, str]] = []
    for tag, start, _end, body in packets(data):
        if tag == SECRET_KEY:
            raise KeyError_("this is a secret key; refusing to handle it")
        if tag == PUBLIC_KEY:
            starts.append((start, key_fingerprint(body)))
    for index, (start, fingerprint) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
        certs.append(Certificate(fingerprint, data[start:end]))
    if not certs:
        raise KeyError_("no public key in the key material")
    return certs


def select(certs: list[Certificate], accepted: list[str]) -> list[Certificate]:
    wanted = {normalize(f) for f in accepted}
    return [c for c in certs if c.fingerprint in wanted]


def source_text(name: str, uri: str, suites: list[str], components: list[str], architectures: list[str],  # noqa: PLR0917
                keyring: str) -> str:
    lines = [
        f"# Managed by Ansible (third_party_repo): {name}. Local changes are overwritten.",
        "Types: deb",
        f"URIs: {uri}",
        f"Suites: {' '.join(suites)}",
    ]
    if components:
        lines.append(f"Components: {' '.join(components)}")
    if architectures:
        lines.append(f"Architectures: {' '.join(architectures)}")
    lines.append(f"Signed-By: {keyring}")
    return "\n".join(lines) + "\n"


def _norm_uri(uri: str) -> str:
    return uri.rstrip("/").lower()


def conflicting_sources(sources_dir: Path, own: Path, uri: str) -> list[str]:
    """Other source files that already list this URI."""
    hits = []
    apt_dir = sources_dir.parent
    candidates = [apt_dir / "sources.list"] if (apt_dir / "sources.list").is_file() else []
    if sources_dir.is_dir():
        candidates += sorted(p for p in sources_dir.iterdir() if p.suffix in (".list", ".sources"))
    for path in candidates:
        if path == own or not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.split("#", 1)[0]
            if any(_norm_uri(tok) == _norm_uri(uri) for tok in line.replace("URIs:", " ").split()):
                hits.append(str(path))
                break
    return hits


def read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def restore(path: Path, content: bytes | None) -> None:
    if content is None:
        path.unlink(missing_ok=True)
    else:
        write(path, content)


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    write_atomic(path, content, mode=0o644)


def fetch_key(module: AnsibleModule, url: str) -> bytes:
    if url.startswith("file://") or url.startswith("/"):
        path = url[len("file://"):] if url.startswith("file://") else url
        return Path(path).read_bytes()
    response, info = fetch_url(module, url, timeout=30)
    if info.get("status") != 200 or response is None:
        module.fail_json(msg=f"could not fetch the signing key {url}: HTTP {info.get('status')} {info.get('msg')}; "
                             "nothing was changed")
    return response.read()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "uri": {"type": "str", "required": True},
            "suites": {"type": "list", "elements": "str", "default": ["/"]},
            "components": {"type": "list", "elements": "str", "default": []},
            "architectures": {"type": "list", "elements": "str", "default": []},
            "key_url": {"type": "str", "required": True, "no_log": False},
            "fingerprints": {"type": "list", "elements": "str", "required": True, "no_log": False},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "keyring_dir": {"type": "path", "default": "/etc/apt/keyrings"},
            "sources_dir": {"type": "path", "default": "/etc/apt/sources.list.d"},
            "update_cache": {"type": "bool", "default": True},
            "validate_certs": {"type": "bool", "default": True},
            "journal_dir": {"type": "path", "default": "/var/lib/gpu-rig/apt-pending"},
            "lock_timeout": {"type": "int", "default": 300},
        },
        supports_check_mode=True,
    )
    p = module.params
    keyring = Path(p["keyring_dir"]) / f"{p['name']}.gpg"
    source = Path(p["sources_dir"]) / f"{p['name']}.sources"
    result: dict[str, Any] = {"changed": False, "keyring": str(keyring), "source": str(source)}

    if p["state"] == "absent":
        result["changed"] = keyring.exists() or source.exists()
        if result["changed"] and not module.check_mode:
            source.unlink(missing_ok=True)
            keyring.unlink(missing_ok=True)
        module.exit_json(**result)

    conflicts = conflicting_sources(Path(p["sources_dir"]), source, p["uri"])
    if conflicts:
        module.fail_json(msg=f"{p['uri']} is already listed in {', '.join(conflicts)}; remove that entry (for "
                             "example the cuda-keyring package's source) so apt does not see two Signed-By values. "
                             "Nothing was changed.", **result)
    try:
        certs = certificates(fetch_key(module, p["key_url"]))
    except KeyError_ as exc:
        module.fail_json(msg=f"the key at {p['key_url']} is unusable: {exc}; nothing was changed", **result)
    chosen = select(certs, p["fingerprints"])
    if not chosen:
        found = ", ".join(c.fingerprint for c in certs)
        module.fail_json(
            msg=(f"the key at {p['key_url']} has fingerprint {found}, which is not among the accepted "
                 f"{[normalize(f) for f in p['fingerprints']]}; refusing to trust it. Nothing was changed."),
            **result,
        )
    result["fingerprint"] = chosen[0].fingerprint
    new_key = b"".join(c.data for c in chosen)
    new_source = source_text(p["name"], p["uri"], p["suites"], p["components"], p["architectures"],
                             str(keyring)).encode()
    journal = Path(p["journal_dir"]) / f"{p['name']}.json"
    interrupted = read_journal(journal)
    old_key, old_source = interrupted if interrupted else (read(keyring), read(source))
    result["recovered"] = interrupted is not None
    result["changed"] = interrupted is not None or read(keyring) != new_key or read(source) != new_source
    if module._diff:
        result["diff"] = [
            {"before_header": str(source), "after_header": str(source),
             "before": (old_source or b"").decode(), "after": new_source.decode()},
            {"before_header": str(keyring), "after_header": str(keyring),
             "before": f"key {'(none)' if old_key is None else hashlib.sha256(old_key).hexdigest()}\n",
             "after": f"key {hashlib.sha256(new_key).hexdigest()} ({result['fingerprint']})\n"},
        ]
    if not result["changed"] or module.check_mode:
        module.exit_json(**result)

    if interrupted is None:
        write_journal(journal, old_key, old_source)
    write(keyring, new_key)
    write(source, new_source)
    if p["update_cache"]:
        rc, output, waited = run_update(module, str(source), p["lock_timeout"])
        result["lock_waited_s"] = round(waited, 1)
        if rc != 0:
            restore(source, old_source)
            restore(keyring, old_key)
            journal.unlink(missing_ok=True)
            module.fail_json(
                msg=(f"apt-get update failed for {p['uri']}; the repository was put back as it was "
                     f"({'removed' if old_source is None else 'previous source restored'}), so apt keeps working. "
                     f"apt said: {output.strip()[-1500:]}"),
                **result,
            )
    journal.unlink(missing_ok=True)
    module.exit_json(**result)


def read_journal(path: Path) -> tuple[bytes | None, bytes | None] | None:
    """The files as they were before a run that did not finish, or None when every run finished."""
    text = read(path)
    if text is None:
        return None
    try:
        record = json.loads(text)
        return tuple(None if record[k] is None else base64.b64decode(record[k]) for k in ("key", "source"))  # type: ignore[return-value]
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: treat the files on disk as the previous state


def write_journal(path: Path, key: bytes | None, source: bytes | None) -> None:
    record = {k: None if v is None else base64.b64encode(v).decode() for k, v in (("key", key), ("source", source))}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    write_atomic(path, json.dumps(record) + "\n", mode=0o600)


if __name__ == "__main__":
    main()
