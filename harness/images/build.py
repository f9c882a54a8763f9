#!/usr/bin/env python3
"""Build the lab's systemd base images with debootstrap and import them into podman.

Each image is tagged ``<repo>:<name>-<hash>``, the hash covering the recipe and
this file, and aliased as ``<repo>:<name>``. An image whose hashed tag already
exists is not rebuilt. Usage::

    harness/images/build.py [--repo localhost/gpu-lab] [debian12 debian13 ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "recipes.yml"
DEFAULT_REPO = "localhost/gpu-lab"
DEFAULT_CACHE = Path(os.environ.get("LAB_CACHE_DIR", "/var/cache/gpu-lab"))


def load_recipes(path: Path = RECIPES) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a mapping of image name to recipe")
    return data


def recipe_hash(name: str, recipe: dict[str, Any]) -> str:
    """A short content hash of one recipe plus the code that applies it."""
    digest = hashlib.sha256()
    digest.update(json.dumps({name: recipe}, sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:12]


def sources_text(recipe: dict[str, Any]) -> tuple[str, str]:
    """Return (path, content) of the apt sources a fresh install of the release has."""
    suite, mirror, security = recipe["suite"], recipe["mirror"], recipe["security_mirror"]
    if recipe.get("sources_format") == "deb822":
        content = (
            f"Types: deb\nURIs: {mirror}\nSuites: {suite} {suite}-updates\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {security}\nSuites: {suite}-security\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
        return "etc/apt/sources.list.d/debian.sources", content
    content = (
        "# Written by the lab image recipe, as a fresh install would have it.\n"
        f"deb {mirror} {suite} main\n"
        f"deb {mirror} {suite}-updates main\n"
        f"deb {security} {suite}-security main\n"
    )
    return "etc/apt/sources.list", content


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def build(name: str, recipe: dict[str, Any], repo: str, cache: Path) -> str:
    tag = f"{repo}:{name}-{recipe_hash(name, recipe)}"
    alias = f"{repo}:{name}"
    if image_exists(tag):
        print(f"{tag}: up to date")
        run(["podman", "tag", tag, alias])
        return tag
    debs = cache / "debootstrap" / name
    debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"lab-{name}-") as tmp:
        root = Path(tmp) / "root"
        run([
            "debootstrap", "--variant=minbase", f"--cache-dir={debs}",
            "--include=" + ",".join(recipe["include"]),
            recipe["suite"], str(root), recipe["mirror"],
        ])
        # Sources as a fresh install writes them, and package lists to match,
        # so that a check-mode run on a fresh container can resolve packages.
        for stale in (root / "etc/apt/sources.list", root / "etc/apt/sources.list.d/debian.sources"):
            stale.unlink(missing_ok=True)
        rel, content = sources_text(recipe)
        (root / rel).write_text(content, encoding="utf-8")
        (root / "etc/hostname").write_text(f"lab-{name}\n", encoding="utf-8")
        # A container has no consoles or udev to wait for.
        for unit in ("getty.target", "systemd-udevd.service", "systemd-udev-trigger.service"):
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # sshd: no host keys shared by every container of the image, and not started at boot; the lab
        # generates each node's keys and starts it (roles/lab).
        for key in (root / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        for unit in ("ssh.service", "ssh.socket"):
            if (root / "lib/systemd/system" / unit).exists() or (root / "usr/lib/systemd/system" / unit).exists():
                run(["chroot", str(root), "systemctl", "disable", unit])
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        run(["chroot", str(root), "apt-get", "update", "-q"])
        run(["chroot", str(root), "apt-get", "clean"])
        (root / "etc/resolv.conf").unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        run(["podman", "import", "--change", 'CMD ["/sbin/init"]',
             "--change", "STOPSIGNAL SIGRTMIN+3", "-", tag], stdin=tar.stdout)
        if tar.wait() != 0:
            raise SystemExit(f"{name}: tar of the root file system failed")
    run(["podman", "tag", tag, alias])
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="recipes to build (default: all)")
    parser.add_argument("--repo", default=os.environ.get("LAB_IMAGE_REPO", DEFAULT_REPO))
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    recipes = load_recipes()
    names = args.names or sorted(recipes)
    unknown = [n for n in names if n not in recipes]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; known: {sorted(recipes)}")
    if os.geteuid() != 0:
        parser.error("debootstrap and chroot need root")
    for name in names:
        print(build(name, recipes[name], args.repo, args.cache_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
