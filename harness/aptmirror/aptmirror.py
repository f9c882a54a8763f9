#!/usr/bin/env python3
"""A local, GPG-signed apt mirror for tests.

It builds stand-in .deb packages from a small YAML spec, publishes them as flat
apt repositories (the layout of NVIDIA's CUDA and libnvidia-container
repositories: ``deb [signed-by=...] URL/ /``) signed with a throwaway key, and
serves them over HTTP to the test containers. Every stand-in's description says
that it is a test fixture; none contains NVIDIA software.

Spec format::

    repos:
      - path: compute/cuda/repos/debian12/x86_64   # flat repository under the root
        packages:
          - name: lab-fixture-hello
            version: "1.0-1"
            architecture: all                      # default: all
            depends: ["libc6"]                     # optional
            provides: []                           # optional
            conflicts: []                          # optional
            files: {"/usr/share/doc/x/hello": "hello\\n"}
            postinst: "#!/bin/sh\\nset -e\\ntouch /var/lib/x\\n"   # any maintainer script

Commands::

    aptmirror.py build --spec SPEC --out DIR     # packages, signed indices, keys/
    aptmirror.py serve --root DIR --bind ADDR --port N [--pidfile F]   # background unless --foreground
    aptmirror.py stop --pidfile F
    aptmirror.py up --spec SPEC --out DIR --port N [--bind ADDR]      # build, then serve (idempotent)

``DIR/keys/`` holds the signing key (``mirror.gpg``, ``mirror.asc``,
``mirror.fingerprint``) and an unrelated key (``wrong.*``) for refusal tests.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURE_NOTE = (
    "TEST FIXTURE built by this project's test suite to stand in for a real package "
    "of the same name. It contains no NVIDIA software and must never reach a real host."
)
MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
DEFAULT_PORT = 8765


@dataclass
class Package:
    """One stand-in package of a spec."""

    name: str
    version: str
    architecture: str = "all"
    depends: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    summary: str = ""
    files: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, data: dict[str, Any]) -> Package:
        unknown = set(data) - {
            "name", "version", "architecture", "depends", "provides", "conflicts", "summary", "files",
            *MAINTAINER_SCRIPTS,
        }
        if unknown:
            raise ValueError(f"package {data.get('name')!r}: unknown keys {sorted(unknown)}")
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            architecture=str(data.get("architecture", "all")),
            depends=[str(d) for d in data.get("depends", [])],
            provides=[str(d) for d in data.get("provides", [])],
            conflicts=[str(d) for d in data.get("conflicts", [])],
            summary=str(data.get("summary", f"stand-in for {data['name']}")),
            files={str(k): str(v) for k, v in data.get("files", {}).items()},
            scripts={s: str(data[s]) for s in MAINTAINER_SCRIPTS if s in data},
        )

    def control(self) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
            f"Architecture: {self.architecture}",
            "Maintainer: GPU rig test suite <tests@lab.invalid>",
            "Section: misc",
            "Priority: optional",
        ]
        for key, values in (("Depends", self.depends), ("Provides", self.provides), ("Conflicts", self.conflicts)):
            if values:
                lines.append(f"{key}: {', '.join(values)}")
        lines.append(f"Description: [TEST FIXTURE] {self.summary}")
        lines.append(f" {FIXTURE_NOTE}")
        return "\n".join(lines) + "\n"

    def filename(self) -> str:
        version = self.version.split(":", 1)[-1]
        return f"{self.name}_{version}_{self.architecture}.deb"


def load_spec(path: Path) -> list[tuple[str, list[Package]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    repos = []
    for repo in data.get("repos", []):
        # A repository's packages may be several lists (YAML aliases of shared ones): flattened.
        entries = [p for item in repo.get("packages", []) for p in (item if isinstance(item, list) else [item])]
        repos.append((str(repo["path"]).strip("/"), [Package.from_spec(p) for p in entries]))
    if not repos:
        raise ValueError(f"{path}: no repos")
    return repos


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def build_deb(pkg: Package, outdir: Path) -> Path:
    """Build one .deb with dpkg-deb, root-owned files, scripts mode 0755."""
    with tempfile.TemporaryDirectory(prefix="aptmirror-") as tmp:
        stage = Path(tmp)
        debian = stage / "DEBIAN"
        debian.mkdir(mode=0o755)
        (debian / "control").write_text(pkg.control(), encoding="utf-8")
        for script, body in pkg.scripts.items():
            target = debian / script
            target.write_text(body if body.endswith("\n") else body + "\n", encoding="utf-8")
            target.chmod(0o755)
        doc = stage / "usr/share/doc" / pkg.name / "README.test-fixture"
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(FIXTURE_NOTE + "\n", encoding="utf-8")
        for path, content in pkg.files.items():
            target = stage / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            target.chmod(0o755 if "/bin/" in path or "/sbin/" in path else 0o644)
        for directory in [stage, *stage.rglob("*")]:
            if directory.is_dir():
                directory.chmod(0o755)
        out = outdir / pkg.filename()
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(stage), str(out)])
        return out


class Gpg:
    """A throwaway GnuPG home holding one signing key."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)

    def gpg(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(["gpg", "--batch", "--quiet", "--homedir", str(self.home), *args])

    def fingerprint(self) -> str | None:
        out = subprocess.run(
            ["gpg", "--batch", "--homedir", str(self.home), "--with-colons", "--list-secret-keys"],
            check=False, text=True, capture_output=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith("fpr:"):
                return line.split(":")[9]
        return None

    def ensure_key(self, uid: str) -> str:
        if self.fingerprint() is None:
            self.gpg("--passphrase", "", "--quick-generate-key", uid, "ed25519", "sign", "never")
        fpr = self.fingerprint()
        if fpr is None:
            raise RuntimeError(f"gpg made no key in {self.home}")
        return fpr

    def export(self, dest: Path, stem: str) -> str:
        fpr = self.fingerprint() or ""
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f"{stem}.gpg").write_bytes(
            subprocess.run(["gpg", "--batch", "--homedir", str(self.home), "--export", fpr],
                           check=True, capture_output=True).stdout)
        (dest / f"{stem}.asc").write_text(self.gpg("--armor", "--export", fpr).stdout, encoding="utf-8")
        (dest / f"{stem}.fingerprint").write_text(fpr + "\n", encoding="utf-8")
        return fpr

    def sign_release(self, repo: Path) -> None:
        for name in ("InRelease", "Release.gpg"):
            (repo / name).unlink(missing_ok=True)
        self.gpg("--clearsign", "--digest-algo", "SHA512", "-o", str(repo / "InRelease"), str(repo / "Release"))
        self.gpg("--detach-sign", "--armor", "-o", str(repo / "Release.gpg"), str(repo / "Release"))


def publish(repo: Path, label: str) -> None:
    """Write Packages, Packages.gz and Release for a flat repository."""
    packages = run(["apt-ftparchive", "packages", "."], cwd=repo).stdout
    (repo / "Packages").write_text(packages, encoding="utf-8")
    with gzip.GzipFile(repo / "Packages.gz", "wb", mtime=0) as handle:
        handle.write(packages.encode())
    release = run([
        "apt-ftparchive",
        "-o", f"APT::FTPArchive::Release::Origin={label}",
        "-o", f"APT::FTPArchive::Release::Label={label}",
        "-o", "APT::FTPArchive::Release::Suite=./",
        "-o", "APT::FTPArchive::Release::Architectures=amd64 all",
        "release", ".",
    ], cwd=repo).stdout
    (repo / "Release").write_text(release, encoding="utf-8")


def spec_digest(spec: Path) -> str:
    digest = hashlib.sha256(spec.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def build(spec: Path, out: Path) -> dict[str, Any]:
    """Build every repository of the spec under ``out``; reuse keys that exist."""
    out.mkdir(parents=True, exist_ok=True)
    signer, other = Gpg(out / ".gnupg"), Gpg(out / ".gnupg-wrong")
    signer.ensure_key("GPU rig test mirror (throwaway test key) <tests@lab.invalid>")
    other.ensure_key("Unrelated throwaway key (must be refused) <wrong@lab.invalid>")
    info: dict[str, Any] = {
        "root": str(out),
        "fingerprint": signer.export(out / "keys", "mirror"),
        "wrong_fingerprint": other.export(out / "keys", "wrong"),
        "repos": [],
    }
    for path, packages in load_spec(spec):
        repo = out / path
        if repo.exists():
            shutil.rmtree(repo)
        repo.mkdir(parents=True)
        for pkg in packages:
            build_deb(pkg, repo)
        publish(repo, label="gpu-rig-test-mirror")
        signer.sign_release(repo)
        info["repos"].append(path)
    info["digest"] = spec_digest(spec)
    (out / "mirror.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def podman_gateway(network: str = "podman") -> str:
    """The host's address on podman's bridge, which containers know as host.containers.internal."""
    out = run(["podman", "network", "inspect", network]).stdout
    for net in json.loads(out):
        for subnet in net.get("subnets", []):
            if subnet.get("gateway"):
                return str(subnet["gateway"])
    raise RuntimeError(f"podman network {network!r} has no gateway")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve_forever(root: Path, bind: str, port: int) -> None:
    handler = functools.partial(QuietHandler, directory=str(root))
    with http.server.ThreadingHTTPServer((bind, port), handler) as server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


def answers(bind: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((bind, port), timeout=1):
        return True
    return False


def start(root: Path, bind: str, port: int, pidfile: Path) -> int:
    """Serve ``root`` in the background; return the server's pid."""
    pid = read_pid(pidfile)
    if pid and answers(bind, port):
        return pid
    log = (pidfile.parent / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, __file__, "serve", "--foreground", "--root", str(root), "--bind", bind, "--port", str(port)],
        stdout=log, stderr=log, start_new_session=True,
    )
    for _ in range(50):
        if answers(bind, port):
            pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
            return proc.pid
        if proc.poll() is not None:
            raise RuntimeError(f"the mirror server exited with {proc.returncode}; see {log.name}")
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the mirror server did not answer on {bind}:{port}")


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text(encoding="utf-8").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop(pidfile: Path) -> bool:
    pid = read_pid(pidfile)
    pidfile.unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


@contextlib.contextmanager
def serving(root: Path, bind: str, port: int) -> Iterator[str]:
    """Context manager for tests: serve root, yield the base URL as seen from the host."""
    pidfile = root / "server.pid"
    start(root, bind, port, pidfile)
    try:
        yield f"http://{bind}:{port}"
    finally:
        stop(pidfile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="local signed apt mirror for tests")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--spec", type=Path, required=True)
    b.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("serve")
    s.add_argument("--root", type=Path, required=True)
    s.add_argument("--bind", default=None, help="address to listen on (default: podman's bridge gateway)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT)
    s.add_argument("--pidfile", type=Path)
    s.add_argument("--foreground", action="store_true")
    t = sub.add_parser("stop")
    t.add_argument("--pidfile", type=Path, required=True)
    u = sub.add_parser("up")
    u.add_argument("--spec", type=Path, required=True)
    u.add_argument("--out", type=Path, required=True)
    u.add_argument("--bind", default=None)
    u.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)

    if args.command == "build":
        print(json.dumps(build(args.spec, args.out), indent=2))
    elif args.command == "stop":
        print("stopped" if stop(args.pidfile) else "not running")
    elif args.command == "serve":
        bind = args.bind or podman_gateway()
        if args.foreground:
            serve_forever(args.root, bind, args.port)
        else:
            pid = start(args.root, bind, args.port, args.pidfile or args.root / "server.pid")
            print(json.dumps({"pid": pid, "url": f"http://{bind}:{args.port}"}))
    elif args.command == "up":
        meta = args.out / "mirror.json"
        fresh = meta.exists() and json.loads(meta.read_text()).get("digest") == spec_digest(args.spec)
        pidfile = args.out / "server.pid"
        if not fresh:
            stop(pidfile)
            build(args.spec, args.out)
        bind = args.bind or podman_gateway()
        pid = start(args.out, bind, args.port, pidfile)
        info = json.loads(meta.read_text())
        info.update(pid=pid, url=f"http://{bind}:{args.port}", rebuilt=not fresh)
        print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
