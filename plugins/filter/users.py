# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's accounts: the same names, UIDs and GIDs on every node, checked before any change."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DOCUMENTATION = r"""
name: cluster_users_problems
short_description: What is wrong with the cluster's accounts and groups, each problem naming the variable
description:
  - Checks cluster_users_accounts and cluster_users_groups (names, UIDs and GIDs in range and unique, shells,
    SSH keys) and, given the node's passwd and group databases (getent), accounts or groups that exist there
    with another number, which the role never renumbers.
  - The sibling filter C(cluster_users_plan) is in the same file.
positional: groups, passwd, group_db
options:
  _input:
    description: cluster_users_accounts.
    type: list
    required: true
  groups:
    description: cluster_users_groups.
    type: list
    required: true
  passwd:
    description: C(getent passwd) of the node as Ansible's getent returns it (name -> fields), or empty.
    type: dict
    required: false
  group_db:
    description: C(getent group) of the node (name -> fields), or empty.
    type: dict
    required: false
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the accounts
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ cluster_users_accounts | gpu_rig.cluster.cluster_users_problems(cluster_users_groups) }}"
"""

RETURN = r"""
_value:
  description: One sentence per problem; empty when every account and group is good.
  type: list
  elements: str
"""

NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
SHELL = re.compile(r"/[A-Za-z0-9_./-]+")
KEY = re.compile(r"(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com)"
                 r" [A-Za-z0-9+/=]+( [^\n]*)?")
ID_RANGE = (1000, 59999)
ACCOUNT_KEYS = {"name", "uid", "gid", "group", "comment", "shell", "groups", "ssh_public_keys"}


def _id(label: str, value: Any, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{label}: {value!r} is not a number.")
        return None
    if not ID_RANGE[0] <= value <= ID_RANGE[1]:
        problems.append(f"{label}: {value} is out of range (from {ID_RANGE[0]} to {ID_RANGE[1]}).")
        return None
    return value


def _existing(db: Mapping[str, Any] | None, name: str, index: int) -> int | None:
    fields = (db or {}).get(name)
    try:
        return int(fields[index]) if fields else None
    except (IndexError, TypeError, ValueError):
        return None


def cluster_users_plan(accounts: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]
                       ) -> dict[str, list[dict[str, Any]]]:
    """The groups to create (the listed ones, then each account's own group) and the accounts, normalised."""
    plan_groups = [{"name": g["name"], "gid": g["gid"]} for g in groups]
    known = {g["name"] for g in plan_groups}
    plan_accounts = []
    for account in accounts:
        group = account.get("group") or account["name"]
        if group not in known:
            plan_groups.append({"name": group, "gid": account.get("gid", account["uid"])})
            known.add(group)
        plan_accounts.append({"name": account["name"], "uid": account["uid"], "group": group,
                              "comment": account.get("comment", ""), "shell": account.get("shell", "/bin/bash"),
                              "groups": list(account.get("groups") or []),
                              "ssh_public_keys": list(account.get("ssh_public_keys") or [])})
    return {"groups": plan_groups, "accounts": plan_accounts}


def cluster_users_problems(accounts: Any, groups: Any, passwd: Mapping[str, Any] | None = None,
                           group_db: Mapping[str, Any] | None = None) -> list[str]:
    problems: list[str] = []
    if not isinstance(accounts, list):
        return [f"cluster_users_accounts: {accounts!r} is not a list."]
    if not isinstance(groups, list):
        return [f"cluster_users_groups: {groups!r} is not a list."]
    gids: dict[int, str] = {}
    group_names: set[str] = set()
    for i, group in enumerate(groups):
        label = f"cluster_users_groups[{i}]"
        if not isinstance(group, Mapping) or set(group) != {"name", "gid"}:
            problems.append(f"{label}: {group!r} must be a mapping of name and gid.")
            continue
        if not isinstance(group["name"], str) or not NAME.fullmatch(group["name"]):
            problems.append(f"{label}.name: {group['name']!r} is not a group name.")
        gid = _id(f"{label}.gid", group["gid"], problems)
        if gid is not None and gid in gids:
            problems.append(f"{label}.gid: {gid} is also the GID of {gids[gid]}.")
        elif gid is not None:
            gids[gid] = str(group["name"])
        group_names.add(str(group["name"]))
        have = _existing(group_db, str(group["name"]), 1)
        if have is not None and gid is not None and have != gid:
            problems.append(f"{label}: group {group['name']} has GID {have} on this node, not {gid}; the role never "
                            "renumbers a group (files would lose it): change it by hand or in the inventory.")
    uids: dict[int, str] = {}
    names: set[str] = set()
    for i, account in enumerate(accounts):
        label = f"cluster_users_accounts[{i}]"
        if not isinstance(account, Mapping) or not {"name", "uid"} <= set(account) or set(account) - ACCOUNT_KEYS:
            problems.append(f"{label}: {account!r} must be a mapping with name and uid (and only "
                            f"{', '.join(sorted(ACCOUNT_KEYS))}).")
            continue
        name = account["name"]
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(f"{label}.name: {name!r} is not an account name.")
            continue
        if name in names:
            problems.append(f"{label}.name: {name} is listed twice.")
        names.add(name)
        uid = _id(f"{label}.uid", account["uid"], problems)
        if uid is not None and uid in uids:
            problems.append(f"{label}.uid: {uid} is also the UID of {uids[uid]}.")
        elif uid is not None:
            uids[uid] = name
        if "gid" in account:
            _id(f"{label}.gid", account["gid"], problems)
        if "shell" in account and not (isinstance(account["shell"], str) and SHELL.fullmatch(account["shell"])):
            problems.append(f"{label}.shell: {account['shell']!r} is not an absolute path.")
        comment = account.get("comment", "")
        if not isinstance(comment, str) or re.search(r"[:\n]", comment):
            problems.append(f"{label}.comment: {comment!r} must be text without ':' or a line break.")
        for j, extra in enumerate(account.get("groups") or []):
            if not isinstance(extra, str) or not NAME.fullmatch(extra):
                problems.append(f"{label}.groups[{j}]: {extra!r} is not a group name.")
        for j, key in enumerate(account.get("ssh_public_keys") or []):
            if not isinstance(key, str) or not KEY.fullmatch(key):
                problems.append(f"{label}.ssh_public_keys[{j}]: not one OpenSSH public key line.")
        have = _existing(passwd, name, 1)
        if have is not None and uid is not None and have != uid:
            problems.append(f"{label}: account {name} has UID {have} on this node, not {uid}; the role never "
                            "renumbers an account (its files would be orphaned): change it by hand (usermod -u) "
                            "or in the inventory.")
    return problems


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"cluster_users_problems": cluster_users_problems, "cluster_users_plan": cluster_users_plan}
