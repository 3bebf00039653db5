"""One stack in PostgreSQL, two checkouts: what A deployed, B sees; what B changes, B previews."""

from __future__ import annotations

import json

from .conftest import init_stack, mlb_settings


def preview_json(checkout, stack: str) -> dict:
    return json.loads(checkout.pulumi("preview", "--json", "--stack", stack).stdout)


def changed_inputs(step: dict) -> set[str]:
    """Dotted paths of the inputs that differ between a step's old and new state (dynamic
    providers report no detailed diff)."""
    def flat(value, prefix=""):
        if isinstance(value, dict):
            return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): json.dumps(value)}
    old, new = flat(step["oldState"]["inputs"]), flat(step["newState"]["inputs"])
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def test_a_clone_previews_what_the_first_checkout_deployed(team, checkouts, team_sim):
    a = checkouts()
    init_stack(a, "team", mlb_settings(team_sim))
    a.pulumi("up", "--yes", "--stack", "team")
    resources = sum(not r["type"].startswith("pulumi:providers:") for r in a.export("team")["deployment"]["resources"])

    b = checkouts.clone(a)
    # B has nothing local: no state directory (the wrapper leaves a postgres:// backend alone),
    # the stack file only as git gave it.
    assert not any(p.name.startswith((".pulumi-state", "postgres")) for p in b.root.iterdir())
    assert b.stack_file("team").read_text() == a.stack_file("team").read_text()
    assert preview_json(b, "team")["changeSummary"] == {"same": resources}

    # A config change made in B previews as exactly that change: the Marathon-LB app's label
    # carrying the backend's server timeout, and the probe that re-checks the exposure after it.
    b.write_config("team", mlb_settings(team_sim, timeouts={"server": "3600s"}))
    preview = preview_json(b, "team")
    assert preview["changeSummary"] == {"same": resources - 2, "update": 2}
    diffs = {s["urn"].rsplit("::", 1)[1]: s for s in preview["steps"] if s["op"] == "update"}
    assert set(diffs) == {"mlb-app", "mlb-probe"}
    assert changed_inputs(diffs["mlb-app"]) == {"app.labels.HAPROXY_0_BACKEND_SERVER_OPTIONS"}
    assert changed_inputs(diffs["mlb-probe"]) == {"revision"}
    label = "HAPROXY_0_BACKEND_SERVER_OPTIONS"
    assert "timeout server 3600s" in diffs["mlb-app"]["newState"]["inputs"]["app"]["labels"][label]
    assert "timeout server 86400s" in diffs["mlb-app"]["oldState"]["inputs"]["app"]["labels"][label]
    # A, whose checkout still has the old config, still sees no change.
    assert preview_json(a, "team")["changeSummary"] == {"same": resources}
