"""Moving a stack from the file backend (.pulumi-state/) to the team backend, as the README says:
`stack export` from the old, `stack init` + `stack import` into the new."""

from __future__ import annotations

from .conftest import git, init_stack, marathon_apps, mlb_settings


def test_a_file_backend_stack_moves_to_postgres(team, checkouts, team_sim):
    a = checkouts()
    local = f"file://{a.root}/.pulumi-state"
    a.backend_url = local
    init_stack(a, "team", mlb_settings(team_sim))
    a.pulumi("up", "--yes", "--stack", "team")
    old = a.export("team")["deployment"]

    a.pulumi("stack", "export", "--stack", "team", "--file", "team.json")
    a.backend_url = team.url
    a.pulumi("stack", "init", "team")
    a.pulumi("stack", "import", "--stack", "team", "--file", "team.json")
    (a.root / "team.json").unlink()

    # The stack file (its encryptionsalt, the encrypted password) is untouched, the resources
    # and ids came over, and the stack is in sync with what runs.
    assert git(a.root, "status", "--porcelain") == ""
    new = a.export("team")["deployment"]
    assert [(r["urn"], r.get("id")) for r in new["resources"]] == [(r["urn"], r.get("id")) for r in old["resources"]]
    a.pulumi("preview", "--expect-no-changes", "--stack", "team")
    a.pulumi("refresh", "--yes", "--expect-no-changes", "--stack", "team")
    # Secrets still decrypt with the stack's passphrase (the DC/OS login in `up` needs it).
    a.write_config("team", mlb_settings(team_sim, timeouts={"server": "3600s"}))
    a.pulumi("up", "--yes", "--stack", "team")
    assert marathon_apps(team_sim) == ["/kexpose/mlb", "/marathon-lb"]
