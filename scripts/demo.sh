#!/usr/bin/env bash
# `make demo` / `make demo-destroy`: see scripts/demo.py.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" "${1:-up}"
