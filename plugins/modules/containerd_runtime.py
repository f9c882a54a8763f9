#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: give containerd's CRI plugin the nvidia runtime the way the installed containerd reads it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: containerd_runtime
short_description: Add the nvidia runtime to containerd's CRI plugin, keeping every user setting
description:
  - Decides from O(containerd_version) (the output of C(containerd --version)) and the config version of O(path).
  - B(containerd 1.x) replaces a plugin's whole section with an imported file's section, so a drop-in would reset
    the user's CRI settings. The runtime's two tables go into O(path) itself, as a marked block after the user's
    text; the user's text is not touched. An older drop-in at O(dropin_path) is removed.
  - B(containerd 2.x) merges imported files into the plugin's section. The runtime is written to O(dropin_path),
    with the root file's config version (2 or 3) and plugin ID (C(io.containerd.grpc.v1.cri) or
    C(io.containerd.cri.v1.runtime)), and O(path) imports it.
  - Nothing is added where the CRI plugin is disabled (Docker's own containerd config), or where O(path) already
    defines a runtime of that name outside the block; the result says why.
  - C(SystemdCgroup) follows the runc runtime's, where the user's file sets it.
  - Every result is parsed back and must equal the user's settings plus the runtime; a file that is not valid TOML,
    has a config version the installed containerd does not read, or cannot take the tables fails the module
    untouched. Files are written through symlinks, keeping mode and owner.
options:
  path:
    description: containerd's configuration file; created (config version 2 on 1.x, 3 on 2.x) when missing.
    type: path
    default: /etc/containerd/config.toml
  containerd_version:
    description:
      - What C(containerd --version) printed, e.g.
        C(containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3).
    type: str
    required: true
  name:
    description: The runtime's name (letters, digits, C(-), C(_)).
    type: str
    default: nvidia
  binary:
    description: The runtime binary (an absolute path).
    type: path
    default: /usr/bin/nvidia-container-runtime
  dropin_path:
    description: The drop-in containerd 2.x imports.
    type: path
    default: /etc/containerd/conf.d/99-nvidia.toml
  dropin_header:
    description: Comment lines put at the top of the drop-in (for example C(ansible_managed) as a comment).
    type: str
    default: ""
  backup:
    description: Keep a copy of O(path) beside it (C(config.toml.<pid>.<date>~)) whenever it changes.
    type: bool
    default: false
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Ask containerd for its version
  ansible.builtin.command:
    argv: [containerd, --version]
  register: containerd_version
  changed_when: false

- name: Add the nvidia runtime to containerd
  gpu_rig.cluster.containerd_runtime:
    containerd_version: "{{ containerd_version.stdout }}"
    backup: true
"""

RETURN = r"""
mechanism:
  description: C(config.toml) (1.x, a block in the file), C(drop-in) (2.x), C(user) (the file has its own runtime
    of that name) or C(none) (CRI disabled).
  type: str
  returned: success
reason:
  description: Why that mechanism, in a sentence.
  type: str
  returned: success
config_version:
  description: The config version of O(path).
  type: int
  returned: success
backup_file:
  description: The copy of O(path) made before it changed.
  type: str
  returned: changed and O(backup)
"""

import os
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils import containerd_config
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_text, write_atomic


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/containerd/config.toml"},
            "containerd_version": {"type": "str", "required": True},
            "name": {"type": "str", "default": "nvidia"},
            "binary": {"type": "path", "default": "/usr/bin/nvidia-container-runtime"},
            "dropin_path": {"type": "path", "default": "/etc/containerd/conf.d/99-nvidia.toml"},
            "dropin_header": {"type": "str", "default": ""},
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    path, dropin = Path(params["path"]), Path(params["dropin_path"])
    if not os.path.isabs(params["binary"]) or "\n" in params["binary"]:
        module.fail_json(msg=f"binary {params['binary']!r} must be an absolute path on one line")
    header = params["dropin_header"]
    if header and not header.endswith("\n"):
        header += "\n"
    if any(line and not line.startswith("#") for line in header.splitlines()):
        module.fail_json(msg="dropin_header must be comment lines, each starting with '#'")
    if not containerd_config.BARE.match(params["name"]):
        module.fail_json(msg=f"name {params['name']!r} must be letters, digits, '-' or '_'")
    try:
        major = containerd_config.containerd_major(params["containerd_version"])
    except ValueError as err:
        module.fail_json(msg=str(err))
    if major not in (1, 2):
        module.fail_json(msg=f"containerd {major}.x is not one this module knows (1.x and 2.x)")
    existing = read_text(path)
    try:
        plan = containerd_config.plan_runtime(existing, major, params["name"], params["binary"], str(dropin),
                                              dropin_header=header)
    except ValueError as err:
        module.fail_json(msg=f"{path} {err}")
    except RuntimeError as err:  # no TOML reader on this Python
        module.fail_json(msg=f"{path} was left untouched: {err}")
    dropin_now = read_text(dropin)
    config_changed = plan.config != (existing if existing is not None else "")
    dropin_changed = plan.dropin != dropin_now
    result: dict[str, Any] = {
        "changed": config_changed or dropin_changed, "mechanism": plan.mechanism, "reason": plan.reason,
        "config_version": plan.config_version, "runtime_path": plan.runtime_path,
    }
    if module._diff:
        result["diff"] = [
            {"before_header": str(path), "after_header": str(path), "before": existing or "", "after": plan.config},
            {"before_header": str(dropin), "after_header": str(dropin), "before": dropin_now or "",
             "after": plan.dropin or ""},
        ]
    if not module.check_mode:
        if dropin_changed and plan.dropin is not None:
            write_atomic(dropin, plan.dropin)
        if config_changed:
            if params["backup"] and existing is not None:
                result["backup_file"] = module.backup_local(str(path))
            write_atomic(path, plan.config)
        if dropin_changed and plan.dropin is None:
            dropin.unlink()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
