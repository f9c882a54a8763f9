#!/usr/bin/env python3
"""Tell clearly whether podman is installed, configured and able to start a container.

    check_podman.py [--image IMAGE]

Without --image it checks the engine (`podman info`); with it, it also starts a
throwaway systemd-less container from IMAGE and runs /bin/true in it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HINTS = (
    "Install it with `apt-get install podman runc` (make setup does this as root), and run "
    "through `make`, which points CONTAINERS_CONF at .config/containers/containers.conf "
    "(runc, cgroupfs, modest ulimits) for hosts where podman's defaults are refused."
)


def fail(message: str) -> int:
    print(f"podman check FAILED: {message}\n{HINTS}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check that podman works here")
    parser.add_argument("--image", help="also start a container from this image")
    args = parser.parse_args(argv)
    if shutil.which("podman") is None:
        return fail("the `podman` command is not installed")
    conf = os.environ.get("CONTAINERS_CONF")
    if conf and not os.path.exists(conf):
        return fail(f"CONTAINERS_CONF points at {conf}, which does not exist")
    info = subprocess.run(["podman", "info", "--format", "json"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return fail(f"`podman info` exited {info.returncode}: {info.stderr.strip()}")
    runtime = json.loads(info.stdout).get("host", {}).get("ociRuntime", {}).get("name", "?")
    print(f"podman: engine answers (OCI runtime {runtime}, CONTAINERS_CONF={conf or 'unset'})")
    if args.image:
        run = subprocess.run(
            ["podman", "run", "--rm", "--systemd=false", args.image, "/bin/true"],
            capture_output=True, text=True, check=False,
        )
        if run.returncode != 0:
            return fail(f"could not start a container from {args.image} (exit {run.returncode}): "
                        f"{run.stderr.strip()}")
        print(f"podman: started and removed a container from {args.image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
