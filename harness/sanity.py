#!/usr/bin/env python3
"""ansible-test sanity on the collection as users get it: built, installed into build/sanity, tested there.

    .venv/bin/python harness/sanity.py [ansible-test sanity options, e.g. --test validate-modules]

ansible-test needs the collection under ansible_collections/<namespace>/<name>; the installed
artifact is that, and holds exactly what `ansible-galaxy collection build` ships (galaxy.yml's
build_ignore keeps the lab, the harness and the tests out). No test here needs Docker: they run
with --local on this Python. ansible-test bootstraps pip in its test environments with a script it
downloads from ci-files.testing.ansible.com; where that host is out of reach, the stand-in below
(ensurepip, then pip from the package index) takes its place in ansible-test's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORK = ROOT / "build" / "sanity"
GET_PIP = Path.home() / ".ansible/test/cache/get_pip_24_2.py"
GET_PIP_STAND_IN = '''\
# Stand-in for ansible-test's get-pip-24.2.py (written by gpu_rig.cluster's harness/sanity.py):
# python get_pip_24_2.py --disable-pip-version-check pip==X setuptools==Y ... [--no-setuptools] [--no-wheel]
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''


def clean_env(config: Path) -> dict[str, str]:
    """This Python's tools, with no project ansible.cfg (it would resolve the collection to the checkout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               ANSIBLE_COLLECTIONS_PATH=str(WORK))
    return env


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "ansible.cfg"
        config.write_text("[defaults]\n")
        env = clean_env(config)
        subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(WORK),
                        str(ROOT)], check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
        artifact = next(WORK.glob("gpu_rig-cluster-*.tar.gz"))
        subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p",
                        str(WORK), str(artifact)], check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
        if not GET_PIP.exists():
            GET_PIP.parent.mkdir(parents=True, exist_ok=True)
            GET_PIP.write_text(GET_PIP_STAND_IN)
        collection = WORK / "ansible_collections/gpu_rig/cluster"
        # ansible-test keeps its output under tests/output; it must not lint its own environments.
        (collection / ".gitignore").write_text("tests/output/\n")
        # ansible-test finds the files to test through git; the installed artifact is their list.
        for git in (["init", "-q"], ["add", "-A"]):
            subprocess.run(["git", *git], cwd=collection, check=True, env=env)
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        argv = [str(BIN / "ansible-test"), "sanity", "--local", "--python", python, "--color", "no", *sys.argv[1:]]
        print("$", " ".join(argv), f"(in {collection})", flush=True)
        return subprocess.run(argv, env=env, cwd=collection, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
