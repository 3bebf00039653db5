#!/usr/bin/env bash
# What CI runs for one stack (.github/workflows/kexpose.yml calls it; tests/state/ run it), so the
# workflow's behaviour is tested here and not only its YAML.
#
#   scripts/ci-stack.sh preview <stack>   pulumi preview --diff; writes the pull-request comment
#   scripts/ci-stack.sh up <stack>        pulumi up --yes
#
# Environment (nothing is read from the repository but the stack file):
#   PULUMI_BACKEND_URL                 the team backend, e.g. postgres://kexpose@db:5432/kexpose?sslmode=verify-full&…
#                                      (preview: a read-only role; keep the password in PGPASSWORD)
#   PULUMI_CONFIG_PASSPHRASE_<STACK>   the stack's passphrase (<STACK> upper-case, `-` and `.` as `_`)
#   KEXPOSE_DCOS_UID, KEXPOSE_DCOS_PASSWORD | KEXPOSE_DCOS_TOKEN | KEXPOSE_DCOS_PRIVATE_KEY
#                                      the DC/OS identity (read-only for preview), overriding the stack's
#   KEXPOSE_CI_OUT                     where preview writes <stack>.txt and <stack>.md (default .kexpose/ci)
#   KEXPOSE_POLICY_PACK                a policy pack directory to preview with (the workflow: policy)
#   KEXPOSE_PREVIEW_REFRESH            1 (default): preview --refresh, the diff against what runs (GETs
#                                      only); 0: against the state alone, no DC/OS call at all
#
# A postgres:// backend is previewed from a snapshot of its rows read with SELECT alone: Pulumi's
# PostgreSQL backend runs CREATE TABLE/INDEX IF NOT EXISTS on every connection, which needs the
# table's owner, so a read-only role cannot open it directly. Every line this script and pulumi
# print goes through mask(), so a password inside the backend URL never reaches the CI log.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PULUMI=$ROOT/.venv/bin/pulumi
MARKER_PREFIX='<!-- kexpose-preview:'

die() { printf 'ci-stack: %s\n' "$*" | mask >&2; exit 2; }

mask() {
  # user:password@ -> user:****@ in any URL (Pulumi masks it in some messages, not in all).
  sed -E 's#(://[^:/@[:space:]]+):[^@/[:space:]]*@#\1:****@#g'
}

passphrase_for() {
  local name
  name="PULUMI_CONFIG_PASSPHRASE_$(tr '[:lower:].-' '[:upper:]__' <<<"$1")"
  [[ -n ${!name:-} ]] || die "$name is not set: the passphrase of stack $1 (a CI secret)"
  printf '%s' "${!name}"
}

url_param() {  # url_param URL NAME -> the query parameter's value (empty when absent)
  python3 -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query).get(sys.argv[2], [""])[0])' "$1" "$2"
}

psql_url() {
  # psql takes the URL as lib/pq does, minus Pulumi's own `table` parameter and with lib/pq's
  # default (sslmode=require) made explicit, since libpq would otherwise fall back to plain text.
  python3 - "$1" <<'EOF'
import sys, urllib.parse as u
parts = u.urlsplit(sys.argv[1])
query = [(k, v) for k, v in u.parse_qsl(parts.query) if k != "table"]
if not any(k == "sslmode" for k, _ in query):
    query.append(("sslmode", "require"))
print(u.urlunsplit(parts._replace(query=u.urlencode(query))))
EOF
}

snapshot() {
  # Copy the backend's stack files into DIR with SELECT only. Keys are the file backend's paths
  # under a prefix, the URL's path (the database name): Pulumi treats it as a bucket prefix.
  local dir=$1 table prefix
  table=$(url_param "$PULUMI_BACKEND_URL" table)
  table=${table:-pulumi_state}
  [[ $table =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "table=$table in PULUMI_BACKEND_URL is not a plain table name"
  prefix=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]).path.strip("/"); print(p + "/" if p else "")' "$PULUMI_BACKEND_URL")
  local rows
  rows=$(psql "$(psql_url "$PULUMI_BACKEND_URL")" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -v prefix="$prefix" 2>&1 <<SQL
SELECT substr(key, length(:'prefix') + 1), data->>'data' FROM $table
WHERE key = :'prefix' || '.pulumi/meta.yaml' OR starts_with(key, :'prefix' || '.pulumi/stacks/');
SQL
  ) || die "cannot read the state from $PULUMI_BACKEND_URL: $(head -1 <<<"$rows")"
  local key data
  while read -r key data; do
    [[ -n $key && $key != *..* ]] || continue
    mkdir -p "$dir/$(dirname "$key")"
    base64 -d <<<"$data" >"$dir/$key"
  done <<<"$rows"
}

run_pulumi() {  # run_pulumi LOG ARGS…: pulumi's output, masked, to stdout and LOG; pulumi's status
  local log=$1
  shift
  set +e
  "$PULUMI" "$@" --non-interactive 2>&1 | mask | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  return "$status"
}

preview() {
  local stack=$1 out=${KEXPOSE_CI_OUT:-$ROOT/.kexpose/ci} status=0 flags=(--refresh)
  # No refresh: compared with the state alone, reaching no cluster (no preflight, no DC/OS identity).
  [[ ${KEXPOSE_PREVIEW_REFRESH:-1} != 0 ]] || { flags=(); export KEXPOSE_OFFLINE=1; }
  # kexpose's policy pack (README "Policy pack"), when the workflow names it: a mandatory violation fails the preview.
  [[ -z ${KEXPOSE_POLICY_PACK:-} ]] || flags+=(--policy-pack "$KEXPOSE_POLICY_PACK")
  mkdir -p "$out"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [[ $PULUMI_BACKEND_URL == postgres://* ]]; then
    if ! (snapshot "$tmp/state") 2>"$out/$stack.txt"; then
      cat "$out/$stack.txt" >&2
      status=2
    else
      PULUMI_BACKEND_URL="file://$tmp/state" run_pulumi "$out/$stack.txt" preview --diff "${flags[@]}" --stack "$stack" || status=$?
    fi
  else
    run_pulumi "$out/$stack.txt" preview --diff "${flags[@]}" --stack "$stack" || status=$?
  fi
  local verdict="succeeded"
  ((status == 0)) || verdict="FAILED (exit $status)"
  {
    printf '%s %s -->\n### kexpose preview: `%s` %s\n\n```diff\n' "$MARKER_PREFIX" "$stack" "$stack" "$verdict"
    tail -c 60000 "$out/$stack.txt"
    printf '\n```\n'
  } >"$out/$stack.md"
  return "$status"
}

up() {
  local stack=$1 out=${KEXPOSE_CI_OUT:-$ROOT/.kexpose/ci}
  mkdir -p "$out"
  run_pulumi "$out/$stack.up.txt" up --yes --diff --refresh --stack "$stack"
}

[[ $# -eq 2 && $1 =~ ^(preview|up)$ ]] || die "usage: scripts/ci-stack.sh preview|up <stack>"
[[ -n ${PULUMI_BACKEND_URL:-} ]] || die "PULUMI_BACKEND_URL is not set: the team backend (README, \"State for a team\")"
[[ -x $PULUMI ]] || die "$PULUMI is missing: run make setup"
PULUMI_CONFIG_PASSPHRASE=$(passphrase_for "$2")
export PULUMI_CONFIG_PASSPHRASE
unset PULUMI_CONFIG_PASSPHRASE_FILE
cd "$ROOT"
"$1" "$2"
