"""PostgreSQL restarted while an `up` is in flight: the run ends clearly (or rides it out), a rerun
converges and the state keeps everything it had."""

from __future__ import annotations

from .conftest import init_stack, marathon_apps, marathon_get, mlb_settings, resource_summary, wait_for

SLOW = 6.0


def test_postgres_restarted_mid_up(team, checkouts, team_sim):
    a = checkouts()
    init_stack(a, "team", mlb_settings(team_sim))
    a.pulumi("up", "--yes", "--stack", "team")
    before = resource_summary(a.export("team"))

    # The change that is in flight when the database goes away: a new timeout on the app.
    a.write_config("team", mlb_settings(team_sim, timeouts={"server": "3600s"}))
    team_sim.sim.state.config.timing.task_launch = SLOW
    run = a.popen("up", "--yes", "--stack", "team")
    wait_for(lambda: marathon_apps_deploying(team_sim), what="the update's deployment")
    started = server_start(team)
    team.db.restart()
    assert server_start(team) != started and run.poll() is None, "the restart did not happen mid-up"
    status = run.wait(300)
    output = run.log.read_text()
    team_sim.sim.state.config.timing.task_launch = 0.05
    if status != 0:  # a clear error naming what failed, never a Go panic or a traceback
        assert "panic:" not in output and "Traceback" not in output, output
        assert "error:" in output, output

    if team.lock_keys():
        a.pulumi("cancel", "--yes", "--stack", "team")
    a.pulumi("up", "--yes", "--stack", "team")
    a.pulumi("refresh", "--yes", "--expect-no-changes", "--stack", "team")
    after = resource_summary(a.export("team"))

    # Nothing lost: the same resources with the same ids; only the app (its label) and the
    # probe (its revision and fresh measurements) changed.
    assert set(after) == set(before)
    assert {u: r["id"] for u, r in after.items()} == {u: r["id"] for u, r in before.items()}
    changed = {u.rsplit("::", 1)[1] for u in before
               if before[u]["inputs"] != after[u]["inputs"] and not before[u]["type"].startswith("pulumi:providers:")}
    assert changed == {"mlb-app", "mlb-probe"}
    label = after[next(u for u in after if u.endswith("::mlb-app"))]["inputs"]["app"]["labels"]
    assert "timeout server 3600s" in label["HAPROXY_0_BACKEND_SERVER_OPTIONS"]
    assert marathon_apps(team_sim) == ["/kexpose/mlb", "/marathon-lb"]


def server_start(team) -> str:
    return team.db.psql("SELECT pg_postmaster_start_time();")


def marathon_apps_deploying(sim) -> bool:
    """Marathon is rolling out the new version of the app (the `up` is mid-update)."""
    return any(d["affectedApps"] == ["/kexpose/mlb"] for d in marathon_get(sim, "/v2/deployments"))
