#!/usr/bin/env bash
# `make setup`: everything kexpose needs on a fresh machine, idempotent and fast when nothing
# changed. 1) Debian packages (apt-get update once, only when something is missing);
# 2) .venv and the policy pack's policy/.venv from pinned requirements (rebuilt only when those change);
# 3) the Pulumi engine (CLI, language host, random provider) built from Go modules into a cache
#    outside the repository;
# 4) links into .venv/bin so an activated venv has `pulumi` on PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/versions.env
source scripts/versions.env
CACHE=${KEXPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kexpose}
ENGINE_BIN="$CACHE/engine/pulumi-v$PULUMI_VERSION/bin"
# haproxy, openssl, curl: the simulator's data plane and its tests; openssh: agent file delivery
# (scp/ssh and a real sshd in tests); wrk: data-plane bench; postgresql: the team state backend
# (`make state-db`, tests/state/; scripts/state-db.sh runs its own server, never the system one).
# kubectl: see install_apt_packages.
APT_PACKAGES=(haproxy openssl curl openssh-server openssh-client wrk ca-certificates postgresql)

t0=$SECONDS
log() { printf '[setup] %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  # Any kubectl on PATH will do; otherwise Debian's kubernetes-client package provides one.
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  if ((${#missing[@]} == 0)); then
    log "Debian packages: all present"
    return
  fi
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  log "Debian packages: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  # Packaged services (haproxy, ssh) must not start system-wide: kexpose runs its own instances.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    created_policy=1
  fi
  # Nor should Debian's postgresql create its system-wide "main" cluster: nothing would use it.
  local pgconf=/etc/postgresql-common/createcluster.d/kexpose.conf
  if [[ ! -e $pgconf ]]; then
    "${sudo[@]}" mkdir -p "$(dirname "$pgconf")"
    echo 'create_main_cluster = false' | "${sudo[@]}" tee "$pgconf" >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  ((created_policy == 0)) || "${sudo[@]}" rm -f "$policy"
}

# A virtualenv from a pinned requirements file, rebuilt only when that file changes.
create_venv() {
  local dir=$1 requirements=$2 want have=""
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  [[ -f $dir/.requirements.sha256 ]] && have=$(cat "$dir/.requirements.sha256")
  if [[ $want == "$have" && -x $dir/bin/python ]]; then
    log "venv $dir: up to date"
    return
  fi
  log "venv $dir: creating from $requirements"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$want" > "$dir/.requirements.sha256"
}

link_engine() {
  ln -sfn "$ROOT/scripts/pulumi" .venv/bin/pulumi
  local f
  for f in pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python; do
    ln -sfn "$ENGINE_BIN/$f" ".venv/bin/$f"
  done
}

check_versions() {
  local cli sdk pack
  cli=$(.venv/bin/pulumi version)
  sdk=v$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pulumi"))')
  pack=v$(policy/.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pulumi"))')
  if [[ $cli != "$sdk" || $cli != "$pack" ]]; then
    log "version mismatch: pulumi CLI $cli, Python SDK $sdk, policy pack SDK $pack" \
      "(fix scripts/versions.env, requirements.txt or policy/requirements.txt)"
    exit 1
  fi
  log "pulumi CLI $cli = Python SDK $sdk = policy pack SDK $pack"
}

install_apt_packages
# The two venvs at once (each is mostly pip unpacking and compiling on one core).
# The policy pack's own venv: pulumi_policy pins protobuf/grpcio ranges of its own (policy/).
create_venv .venv requirements.txt & main_venv=$!
create_venv policy/.venv policy/requirements.txt & policy_venv=$!
wait "$main_venv"
wait "$policy_venv"
bash scripts/build-engine.sh all
link_engine
check_versions
log "done in $((SECONDS - t0))s; engine cache $(du -sh "$CACHE/engine" 2>/dev/null | cut -f1), Go caches $(du -sh "$CACHE/go" "$CACHE/go-build" 2>/dev/null | cut -f1 | paste -sd+)"
