#!/usr/bin/env bash
# Build the real Pulumi engine (CLI, Python language host, pulumi-random provider) from the
# Go module proxy into a cache outside the repository, keyed by version. Work already done is
# skipped: a finished build leaves a stamp file, and only a missing stamp triggers a build.
#
# Why build at all: the official installer and plugin downloads are unreachable from these
# machines; the Go module proxy is. See docs/engine.md for the details and work-arounds.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.env
source "$ROOT/scripts/versions.env"

CACHE=${KEXPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kexpose}
ENGINE_DIR="$CACHE/engine/pulumi-v$PULUMI_VERSION"
RANDOM_DIR="$CACHE/engine/random-v$PULUMI_RANDOM_VERSION-${PULUMI_RANDOM_COMMIT:0:12}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOPATH=${GOPATH:-$CACHE/go}
export GOMODCACHE=${GOMODCACHE:-$CACHE/go/pkg/mod}
export GOCACHE=${GOCACHE_KEXPOSE:-$CACHE/go-build}
GOTAGS=osusergo,grpcnotrace

log() { printf '[build-engine] %s\n' "$*" >&2; }

build_pulumi() {
  local stamp="$ENGINE_DIR/.built" work="$ENGINE_DIR/src"
  if [[ -f $stamp ]]; then
    log "pulumi v$PULUMI_VERSION: cached in $ENGINE_DIR"
    return
  fi
  local t0=$SECONDS
  log "pulumi v$PULUMI_VERSION: building the CLI (a cold build takes several minutes)"
  rm -rf "$ENGINE_DIR" && mkdir -p "$work" "$ENGINE_DIR/bin"
  sed -e "s/@PULUMI_VERSION@/$PULUMI_VERSION/g" "$ROOT/tools/pulumi-build/go.mod.in" > "$work/go.mod"
  (
    cd "$work"
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION"
    go build -trimpath -tags "$GOTAGS" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$ENGINE_DIR/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    # The executor and the dynamic-provider plugin are scripts that ship in the sdk/v3 module
    # (the PyPI wheel does not carry them). Module-cache files are read-only, hence install -m.
    local sdk
    sdk=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" \
      "$sdk/python/dist/pulumi-resource-pulumi-python" "$ENGINE_DIR/bin/"
  )
  printf 'built in %ss\n' "$((SECONDS - t0))" > "$stamp"
  log "pulumi v$PULUMI_VERSION: built in $((SECONDS - t0))s"
}

# Upstream's language host module is refused by the module proxy (docs/engine.md), so the host
# is kexpose's own thin gRPC shell over sdk/v3's toolchain and executor script. It is our
# source, so its stamp is keyed by a hash of that source as well as the engine version.
build_langhost() {
  local hash work="$ENGINE_DIR/src"
  hash=$(cat "$ROOT"/tools/pulumi-build/go.mod.in "$ROOT"/tools/pulumi-build/langhost/*.go | sha256sum | cut -c1-16)
  local stamp="$ENGINE_DIR/.langhost-$hash"
  if [[ -f $stamp ]]; then
    log "pulumi-language-python: cached ($hash)"
    return
  fi
  local t0=$SECONDS
  rm -rf "$work/langhost" "$ENGINE_DIR"/.langhost-*
  cp -r "$ROOT/tools/pulumi-build/langhost" "$work/"
  (
    cd "$work"
    go build -trimpath -tags "$GOTAGS" -ldflags "-s -w -X main.version=$PULUMI_VERSION" \
      -o "$ENGINE_DIR/bin/pulumi-language-python" ./langhost
  )
  touch "$stamp"
  log "pulumi-language-python: built in $((SECONDS - t0))s ($hash)"
}

build_random() {
  local stamp="$RANDOM_DIR/.built" mod=github.com/pulumi/pulumi-random/provider/v4
  if [[ -f $stamp ]]; then
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: cached in $RANDOM_DIR"
    return
  fi
  # The provider module is only published by pseudo-version (its tags are v4.x.y, not
  # provider/v4.x.y). Ask the proxy first: a refusal is reported, not fatal, because kexpose
  # itself needs only the engine and its dynamic providers.
  local probe
  probe=$(cd /tmp && go mod download -json "$mod@$PULUMI_RANDOM_PSEUDO" 2>/dev/null || true)
  if grep -q '"Error"' <<<"$probe"; then
    mkdir -p "$RANDOM_DIR"
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["Error"])' <<<"$probe" \
      > "$RANDOM_DIR/.unavailable"
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: NOT BUILT, the module proxy refuses it:"
    sed 's/^/[build-engine]   /' "$RANDOM_DIR/.unavailable" >&2
    return
  fi
  local t0=$SECONDS work="$RANDOM_DIR/src"
  log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: building"
  rm -rf "$RANDOM_DIR" && mkdir -p "$work" "$RANDOM_DIR/bin"
  (
    cd "$work"
    local dir
    dir=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["Dir"])' <<<"$probe")
    # main.go embeds schema-embed.json, which upstream generates (gitignored) from schema.json;
    # so build from a writable copy of the module with that file written, version filled in.
    cp -r "$dir" provider && chmod -R u+w provider
    python3 - "$PULUMI_RANDOM_VERSION" <<'PY'
import json, sys
path = "provider/cmd/pulumi-resource-random/"
spec = json.load(open(path + "schema.json"))
spec["version"] = sys.argv[1]
json.dump(spec, open(path + "schema-embed.json", "w"))
PY
    # The shim is a nested module that is not part of the provider's zip: take it from the
    # proxy at the same commit. The module path it declares is the one the replace names.
    sed -i "s#=> ./shim#=> github.com/pulumi/pulumi-random/provider/shim $PULUMI_RANDOM_SHIM_PSEUDO#" \
      provider/go.mod
    cd provider
    go build -trimpath -tags "$GOTAGS" \
      -ldflags "-s -w -X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=$PULUMI_RANDOM_VERSION" \
      -o "$RANDOM_DIR/bin/pulumi-resource-random" ./cmd/pulumi-resource-random
  )
  rm -rf "$work"
  # Where the engine looks without downloading: the plugin cache, exact version.
  local plugdir="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-random-v$PULUMI_RANDOM_VERSION"
  mkdir -p "$plugdir" && cp "$RANDOM_DIR/bin/pulumi-resource-random" "$plugdir/"
  printf 'built in %ss\n' "$((SECONDS - t0))" > "$stamp"
  log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: built in $((SECONDS - t0))s"
}

case "${1:-all}" in
  pulumi) build_pulumi; build_langhost ;;
  random) build_random ;;
  all) build_pulumi; build_langhost; build_random ;;
  *) echo "usage: $0 [pulumi|random|all]" >&2; exit 2 ;;
esac
