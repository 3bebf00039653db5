# The commands users and CI rely on. Every target that needs the toolchain runs `setup` first,
# and `setup` is idempotent and fast when nothing changed.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup demo demo-destroy test bench reliability sim state-db state-db-stop

setup:
	@bash scripts/setup.sh

## The main job: simulator up, `pulumi up` of the local stack, kubectl through every exposure.
demo: setup
	@bash scripts/demo.sh up

## Tear the demo down: `pulumi destroy` of the local stack, then stop the simulator.
demo-destroy: setup
	@bash scripts/demo.sh destroy

## Everything CI runs.
test: setup
	@$(PY) -m pytest

bench: setup
	@$(PY) -m bench

## The fault matrix in full (make test runs its quick subset), properties, secrets scan, soak.
## Property tests explore new examples from a fresh seed, printed first and in the summary;
## `make reliability SEED=<n>` replays a run.
reliability: setup
	@seed=$(or $(SEED),$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')); echo "hypothesis seed: $$seed"; \
	KEXPOSE_FULL_RELIABILITY=1 $(PY) -m pytest -m reliability tests/reliability --hypothesis-seed=$$seed

## Run the simulator in the foreground (for poking at it by hand).
sim: setup
	@$(PY) -m kexpose_sim serve --state-dir .kexpose/sim

## A local PostgreSQL to try the team state backend (README, "State for a team"); prints the URL.
state-db: setup
	@bash scripts/state-db.sh start >/dev/null && source .kexpose/state-db/env && \
	  printf 'PostgreSQL on 127.0.0.1:%s. Use it with:\n  export PULUMI_BACKEND_URL=\047%s\047\n' "$$PGPORT" "$$KEXPOSE_STATE_URL"

## Stop it and remove its data.
state-db-stop:
	@bash scripts/state-db.sh stop
