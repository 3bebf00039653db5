"""scripts/ci-stack.sh as the workflow runs it: `up` with the deploying identity, and a pull
request's preview from another clone with a read-only database role and a read-only DC/OS
identity that makes GET calls only."""

from __future__ import annotations

import requests

from .conftest import DCOS_PASSWORD, DCOS_USER, init_stack, mlb_settings

PREVIEW_UID, PREVIEW_PASSWORD = "kexpose-preview", "preview-identity-password"
READONLY_PASSWORD = "readonly-role-password"

#: The DC/OS calls a preview of a Marathon-LB + Edge-LB stack makes (docs/security.md lists them).
PREVIEW_CALLS = {
    "marathon GET /v2/apps/kexpose/mlb",  # the refresh
    "edgelb GET /v2/pools/kexpose-elb",
    "marathon GET /v2/info", "marathon GET /v2/apps", "edgelb GET /v2/pools",  # the preflight
    "mesos GET /mesos/tasks", "mesos GET /mesos/master/state-summary",
}


def stack_settings(sim, server_timeout: str = "86400s") -> dict:
    settings = mlb_settings(sim, timeouts={"server": server_timeout})
    agent = settings["exposures"][0]["agents"][0]
    settings["exposures"].append({"name": "elb", "method": "edge-lb", "clusters": ["kubernetes"], "port": 7443,
                                  "statsPort": 7090, "agents": [agent]})
    return settings


def readonly_role(db, database: str) -> str:
    """README, "State for a team": the role pull-request previews use. Returns its URL."""
    db.psql(f"CREATE ROLE kexpose_preview LOGIN PASSWORD '{READONLY_PASSWORD}';"
            f"GRANT CONNECT ON DATABASE {database} TO kexpose_preview;")
    db.psql("GRANT SELECT ON pulumi_state TO kexpose_preview;", database)
    return db.url(database, user="kexpose_preview", password=READONLY_PASSWORD)


def sim_admin(sim, path: str, body: dict) -> None:
    requests.put(f"{sim.url}/_sim/auth/{path}", json=body, timeout=5).raise_for_status()


def test_up_on_main_and_a_read_only_preview_of_a_pull_request(team, checkouts, team_sim):
    main = checkouts()
    init_stack(main, "team", stack_settings(team_sim), password=None)  # CI brings the DC/OS identity
    assert "dcosPassword" not in main.stack_file("team").read_text()
    up = main.ci("up", "team", KEXPOSE_DCOS_UID=DCOS_USER, KEXPOSE_DCOS_PASSWORD=DCOS_PASSWORD)
    assert team.db.env["KEXPOSE_STATE_PASSWORD"] not in up.stdout + up.stderr
    shown = main.pulumi("stack", "export", "--show-secrets", "--stack", "team").stdout
    assert DCOS_PASSWORD not in shown  # from the environment: not in the state, not even encrypted

    ro_url = readonly_role(team.db, team.database)
    sim_admin(team_sim, f"users/{PREVIEW_UID}", {"password": PREVIEW_PASSWORD})
    sim_admin(team_sim, f"forbidden/{DCOS_USER}", {"forbidden": True})  # the up identity would now fail
    requests.delete(f"{team_sim.url}/_sim/stats", timeout=5).raise_for_status()
    rows_before = team.rows()

    pr = checkouts.clone(main, "pr")
    pr.write_config("team", stack_settings(team_sim, server_timeout="3600s"))  # the pull request's change
    preview = pr.ci("preview", "team", PULUMI_BACKEND_URL=ro_url, KEXPOSE_DCOS_UID=PREVIEW_UID,
                    KEXPOSE_DCOS_PASSWORD=PREVIEW_PASSWORD)

    stats = requests.get(f"{team_sim.url}/_sim/stats", timeout=5).json()
    assert stats["writes"] == 0 and set(stats["calls"]) == PREVIEW_CALLS, stats
    assert team.rows() == rows_before  # the preview changed nothing in the backend
    comment = (pr.outside("ci-out") / "team.md").read_text()
    assert comment.splitlines()[0] == "<!-- kexpose-preview: team -->"
    assert "### kexpose preview: `team` succeeded" in comment
    assert "timeout server 3600s" in comment and "2 to update" in comment
    assert READONLY_PASSWORD not in preview.stdout + preview.stderr + comment

    # KEXPOSE_PREVIEW_REFRESH=0: the same change, compared with the state alone, with no DC/OS
    # identity at all and not one call.
    requests.delete(f"{team_sim.url}/_sim/stats", timeout=5).raise_for_status()
    pr.ci("preview", "team", PULUMI_BACKEND_URL=ro_url, KEXPOSE_PREVIEW_REFRESH="0")
    assert requests.get(f"{team_sim.url}/_sim/stats", timeout=5).json()["total"] == 0
    comment = (pr.outside("ci-out") / "team.md").read_text()
    assert "timeout server 3600s" in comment and "2 to update" in comment

    # Why ci-stack.sh previews from a snapshot: Pulumi's PostgreSQL backend needs the table's
    # owner even to read (CREATE TABLE/INDEX IF NOT EXISTS on every connection).
    direct = pr.pulumi("preview", "--stack", "team", check=False, PULUMI_BACKEND_URL=ro_url)
    assert direct.returncode != 0 and "permission denied for schema public" in direct.stdout + direct.stderr
