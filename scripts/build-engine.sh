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
RANDOM_HASH=$(cd "$ROOT/tools/pulumi-random" && cat go.mod go.sum ./*.go cmd/*/*.go | sha256sum | cut -c1-16)
RANDOM_DIR="$CACHE/engine/random-v$PULUMI_RANDOM_VERSION-$RANDOM_HASH"
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

# pulumi-random's own provider module is refused by the module proxy, but its parts are served:
# Terraform's random provider and the Pulumi Terraform bridge. tools/pulumi-random is kexpose's
# glue over them (docs/engine.md). The stamp is keyed by a hash of that source and the version.
build_random() {
  local t0=$SECONDS work="$RANDOM_DIR/src"
  if [[ -f $RANDOM_DIR/.built ]]; then
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: cached in $RANDOM_DIR"
  else
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: building (a cold build takes several minutes)"
    rm -rf "$RANDOM_DIR" && mkdir -p "$RANDOM_DIR/bin"
    cp -r "$ROOT/tools/pulumi-random" "$work"
    (
      cd "$work"
      local ldflags="-s -w -X github.com/terraform-providers/terraform-provider-random/pulumibridge.Version=$PULUMI_RANDOM_VERSION"
      go build -trimpath -tags "$GOTAGS" -ldflags "$ldflags" -o tfgen ./cmd/pulumi-tfgen-random
      # The provider embeds the schema and bridge metadata that tfgen writes; PULUMI_CONVERT=0
      # keeps tfgen from fetching converter plugins to translate documentation examples.
      PULUMI_CONVERT=0 ./tfgen schema --skip-docs --skip-examples --out cmd/pulumi-resource-random >/dev/null
      go build -trimpath -tags "$GOTAGS" -ldflags "$ldflags" \
        -o "$RANDOM_DIR/bin/pulumi-resource-random" ./cmd/pulumi-resource-random
    )
    rm -rf "$work"
    printf 'built in %ss\n' "$((SECONDS - t0))" > "$RANDOM_DIR/.built"
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: built in $((SECONDS - t0))s"
  fi
  # Where the engine looks without downloading: the plugin cache, exact version. Checked on every
  # run (a cheap compare), so a cleared ~/.pulumi gets the plugin back.
  local plugdir="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-random-v$PULUMI_RANDOM_VERSION"
  if ! cmp -s "$RANDOM_DIR/bin/pulumi-resource-random" "$plugdir/pulumi-resource-random"; then
    mkdir -p "$plugdir"
    install -m 0755 "$RANDOM_DIR/bin/pulumi-resource-random" "$plugdir/"
    log "pulumi-resource-random v$PULUMI_RANDOM_VERSION: installed in $plugdir"
  fi
}

# kexpose's dynamic-provider host (tools/provider-host): the SDK's launcher script, pointed at
# kexpose's launcher, which has a warm host server fork the host (or runs it cold), a small
# wrapper of the SDK's host that gives kexpose's own errors to the engine as their message.
# Checked on every run (cheap), so an engine built before it gets it too.
install_provider_host() {
  local bin="$ENGINE_DIR/bin" launcher="$ENGINE_DIR/bin/pulumi-resource-pulumi-python" f
  for f in kexpose_dynamic_host.py kexpose_host_launcher.py kexpose_host_server.py; do
    cmp -s "$ROOT/tools/provider-host/$f" "$bin/$f" || install -m 0644 "$ROOT/tools/provider-host/$f" "$bin/$f"
  done
  if ! grep -q kexpose_host_launcher "$launcher"; then
    sed -i -e 's|-u -m pulumi.dynamic|-S -u "$(dirname "$(readlink -f "$0")")/kexpose_host_launcher.py"|' \
      -e 's|-u "$(dirname "$(readlink -f "$0")")/kexpose_dynamic_host.py"|-S -u "$(dirname "$(readlink -f "$0")")/kexpose_host_launcher.py"|' \
      "$launcher"
    grep -q kexpose_host_launcher "$launcher" || { log "could not point $launcher at kexpose's host"; exit 1; }
    log "pulumi-resource-pulumi-python: kexpose's host launcher installed"
  fi
}

case "${1:-all}" in
  pulumi) build_pulumi; build_langhost; install_provider_host ;;
  random) build_random ;;
  all) build_pulumi; build_langhost; install_provider_host; build_random ;;
  *) echo "usage: $0 [pulumi|random|all]" >&2; exit 2 ;;
esac
