#!/usr/bin/env bash
# `make demo` / `make demo-destroy`: the main job on the `local` stack.
# The local stack's passphrase is fixed and documented (README: "The local stack"); it protects
# nothing but simulator credentials. Every other stack must bring its own passphrase.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-kexpose-local}

case "${1:-up}" in
  up)
    pulumi stack select local --create >/dev/null
    pulumi up --yes --stack local
    ;;
  destroy)
    pulumi stack select local --create >/dev/null
    pulumi destroy --yes --stack local
    ;;
  *) echo "usage: $0 up|destroy" >&2; exit 2 ;;
esac
