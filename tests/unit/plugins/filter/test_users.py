"""The cluster's accounts checked before any change: ranges, duplicates, shells, keys, and accounts that exist
on the node with another number (from getent's passwd and group databases, as ansible.builtin.getent returns
them: name -> the remaining fields)."""

from __future__ import annotations

from conftest import plugin

users = plugin("filter", "users")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICfh0+m41ttYcqpdIQFTrRUzCl6zrb8yRUSa/ei48m4Z alice@laptop"
ALICE = {"name": "alice", "uid": 2001, "ssh_public_keys": [KEY]}
BOB = {"name": "bob", "uid": 2002, "groups": ["gpu"], "shell": "/bin/zsh"}
GROUPS = [{"name": "gpu", "gid": 3000}]


def test_good_accounts_pass_and_plan_their_own_groups() -> None:
    assert users.cluster_users_problems([ALICE, BOB], GROUPS) == []
    plan = users.cluster_users_plan([ALICE, BOB], GROUPS)
    assert plan["groups"] == [{"name": "gpu", "gid": 3000}, {"name": "alice", "gid": 2001},
                              {"name": "bob", "gid": 2002}]
    assert plan["accounts"][1] == {"name": "bob", "uid": 2002, "group": "bob", "comment": "", "shell": "/bin/zsh",
                                   "groups": ["gpu"], "ssh_public_keys": []}


def test_each_problem_names_the_variable() -> None:
    bad = [{"name": "Alice!", "uid": 2001}, {"name": "carol", "uid": 500}, {"name": "dave", "uid": 2002},
           {"name": "erin", "uid": 2002, "shell": "bash"}, {"name": "dave", "uid": 2003},
           {"name": "frank", "uid": 2004, "comment": "x:y"},
           {"name": "gina", "uid": 2005, "ssh_public_keys": ["my key"]},
           {"name": "hal", "uid": "2006"}, {"name": "ivy", "uid": 2007, "password": "x"}]
    problems = users.cluster_users_problems(bad, [{"name": "gpu", "gid": 3000}, {"name": "gpu2", "gid": 3000}])
    for expected in ("cluster_users_accounts[0].name", "cluster_users_accounts[1].uid: 500 is out of range",
                     "cluster_users_accounts[3].uid: 2002 is also the UID of dave",
                     "cluster_users_accounts[3].shell", "cluster_users_accounts[4].name: dave is listed twice",
                     "cluster_users_accounts[5].comment", "cluster_users_accounts[6].ssh_public_keys[0]",
                     "cluster_users_accounts[7].uid: '2006' is not a number", "cluster_users_accounts[8]:",
                     "cluster_users_groups[1].gid: 3000 is also the GID of gpu"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert users.cluster_users_problems("alice", []) == ["cluster_users_accounts: 'alice' is not a list."]


def test_an_account_with_another_uid_on_the_node_is_refused_not_renumbered() -> None:
    passwd = {"alice": ["x", "1001", "1001", "", "/home/alice", "/bin/bash"],
              "bob": ["x", "2002", "2002", "", "/home/bob", "/bin/zsh"]}
    group_db = {"gpu": ["x", "3001", ""]}
    problems = users.cluster_users_problems([ALICE, BOB], GROUPS, passwd, group_db)
    assert len(problems) == 2, problems
    assert problems[0].startswith("cluster_users_groups[0]: group gpu has GID 3001 on this node, not 3000")
    assert problems[1].startswith("cluster_users_accounts[0]: account alice has UID 1001 on this node, not 2001")
