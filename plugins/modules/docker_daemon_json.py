#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: merge runtimes, a default runtime and features into Docker's daemon.json."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_daemon_json
short_description: Merge runtimes, a default runtime and features into Docker's daemon.json
description:
  - Reads O(path) (a missing or empty file counts as C({})), sets the named O(runtimes) under C(runtimes),
    O(default_runtime) as C(default-runtime) and merges O(features) into C(features).
  - Every other key the user set, and every other runtime, is kept with its value and in its order; new keys
    are appended. The file is written as JSON with an indent of 2 and a trailing newline, and only when the
    merged settings differ from what is there, so a user's own formatting never causes a change.
  - A file that is not a JSON object is left untouched; the module then returns C(invalid=true) without failing,
    so the calling role can warn.
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  runtimes:
    description:
      - "Runtimes to set under C(runtimes), by name, e.g. C({nvidia: {path: nvidia-container-runtime}})."
      - A runtime the file already has by that name is the user's and is left as it is, unless
        O(replace_runtimes); a new one is added with the given keys (C(path), C(runtimeArgs)).
    type: dict
    default: {}
  replace_runtimes:
    description:
      - Set the given keys on a runtime the file already has (other keys it has are kept). Off by default, so a
        user's own entry of the same name, with its C(path) and C(runtimeArgs), survives.
    type: bool
    default: false
  default_runtime:
    description:
      - Value for C(default-runtime). Empty leaves a user's C(default-runtime) alone; see
        O(remove_default_runtime_if_ours).
    type: str
    default: ""
  remove_default_runtime_if_ours:
    description:
      - With an empty O(default_runtime), remove C(default-runtime) when it names one of O(runtimes)
        (so switching the option off undoes what this module set). Any other default stays.
      - Off by default, so a C(default-runtime) the user set is never deleted.
    type: bool
    default: false
  features:
    description: "Keys merged into C(features), e.g. C({cdi: true}); other features are kept."
    type: dict
    default: {}
  settings:
    description:
      - "Top-level keys set to these values, e.g. C({live-restore: true}); other keys are kept. Not for C(runtimes),
        C(default-runtime) or C(features), which have their own options."
    type: dict
    default: {}
  validate:
    description:
      - Command run on a temporary file holding the new JSON before it replaces O(path); C(%s) is that file,
        e.g. C(dockerd --validate --config-file %s). A nonzero exit fails the module and leaves O(path) as it was.
    type: str
    default: ""
  backup:
    description: Keep a timestamped copy of the previous file when it changes.
    type: bool
    default: false
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Register the NVIDIA runtime with Docker and enable CDI
  gpu_rig.cluster.docker_daemon_json:
    runtimes:
      nvidia:
        path: nvidia-container-runtime
        runtimeArgs: []
    features:
      cdi: true
    validate: dockerd --validate --config-file %s
  register: daemon_json

- name: Warn about a daemon.json that could not be read
  ansible.builtin.debug:
    msg: "{{ daemon_json.msg }}"
  when: daemon_json.invalid
"""

RETURN = r"""
invalid:
  description: The existing file is not a JSON object and was left untouched.
  type: bool
  returned: always
config:
  description: The merged settings (empty when O(path) is invalid).
  type: dict
  returned: always
msg:
  description: What was done, or why the file was left alone.
  type: str
  returned: always
"""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_text, write_atomic


class InvalidConfig(ValueError):
    """The existing file cannot be merged into."""


def parse(text: str) -> dict[str, Any]:
    """Parse daemon.json text; empty text is {}. Raises InvalidConfig with the parser's line and column."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidConfig(f"is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    if not isinstance(data, dict):
        raise InvalidConfig(f"is not a JSON object (it holds a {type(data).__name__})")
    return data


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    section = config.setdefault(key, {})
    if not isinstance(section, dict):
        raise InvalidConfig(f'has "{key}" set to a {type(section).__name__}, not an object')
    return section


def merge(
    current: dict[str, Any],
    runtimes: dict[str, dict[str, Any]],
    default_runtime: str = "",
    features: dict[str, Any] | None = None,
    remove_default_runtime_if_ours: bool = False,
    *,
    replace_runtimes: bool = False,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a copy of current with the runtimes, default runtime, features and settings merged in."""
    config = copy.deepcopy(current)
    config.update(copy.deepcopy(settings or {}))
    if runtimes:
        section = _section(config, "runtimes")
        for name, spec in runtimes.items():
            existing = section.get(name)
            if isinstance(existing, dict) and not replace_runtimes:
                continue  # the user's own entry of this name stays as it is
            section[name] = {**(existing if isinstance(existing, dict) else {}), **copy.deepcopy(spec)}
    if default_runtime:
        config["default-runtime"] = default_runtime
    elif remove_default_runtime_if_ours and config.get("default-runtime") in runtimes:
        del config["default-runtime"]
    if features:
        _section(config, "features").update(copy.deepcopy(features))
    return config


def render(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


class ValidationFailed(Exception):
    """The validate command refused the new file."""


def validator(module: AnsibleModule, command: str) -> Callable[[str], None] | None:
    """A check of the new file with `command` (%s is its path), or None when there is no command."""
    if not command:
        return None

    def run(tmp: str) -> None:
        rc, out, err = module.run_command(command.replace("%s", tmp))
        if rc != 0:
            raise ValidationFailed(rc, out, err)

    return run


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/docker/daemon.json"},
            "runtimes": {"type": "dict", "default": {}},
            "default_runtime": {"type": "str", "default": ""},
            "remove_default_runtime_if_ours": {"type": "bool", "default": False},
            "replace_runtimes": {"type": "bool", "default": False},
            "features": {"type": "dict", "default": {}},
            "settings": {"type": "dict", "default": {}},
            "validate": {"type": "str", "default": ""},
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    path = Path(params["path"])
    if params["validate"] and "%s" not in params["validate"]:
        module.fail_json(msg="validate must contain %s (the temporary file to check)", invalid=False)
    owned = sorted(set(params["settings"]) & {"runtimes", "default-runtime", "features"})
    if owned:
        module.fail_json(msg=f"settings may not hold {', '.join(owned)}: use the options of those names", invalid=False)
    for name, spec in params["runtimes"].items():
        if not isinstance(spec, dict) or not spec.get("path"):
            module.fail_json(msg=f"runtime {name!r} needs a dict with at least a path", invalid=False)
    try:
        before = read_text(path) or ""
    except UnicodeDecodeError as err:
        module.exit_json(changed=False, invalid=True, config={},
                         msg=f"{path} is not UTF-8 text ({err}); it was left untouched.")
    try:
        current = parse(before)
        config = merge(current, params["runtimes"], params["default_runtime"], params["features"],
                       params["remove_default_runtime_if_ours"], replace_runtimes=params["replace_runtimes"],
                       settings=params["settings"])
    except InvalidConfig as err:
        module.exit_json(changed=False, invalid=True, config={},
                         msg=f"{path} {err}; it was left untouched.")
    changed = config != current
    after = render(config) if changed else before
    result: dict[str, Any] = {
        "changed": changed, "invalid": False, "config": config,
        "msg": f"{path} {'updated' if changed else 'already configured'}",
    }
    if module._diff:
        result["diff"] = {"before_header": str(path), "after_header": str(path), "before": before, "after": after}
    if changed and not module.check_mode:
        if params["backup"] and path.exists():
            result["backup_file"] = module.backup_local(str(path))
        try:
            write_atomic(path, after, validate=validator(module, params["validate"]))
        except ValidationFailed as failed:
            rc, out, err = failed.args
            module.fail_json(msg=f"validation of the new {path} failed ({params['validate']}); the file was left "
                                 "as it was", rc=rc, stdout=out, stderr=err, invalid=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
