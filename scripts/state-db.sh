#!/usr/bin/env bash
# A throwaway local PostgreSQL for kexpose's team state backend: `make state-db` for trying it
# out, and what tests/state/ start and stop their server with. Not for production (see README,
# "State for a team").
#
#   scripts/state-db.sh start   [DIR]   initdb into a fresh temp dir, TLS on, a free loopback port;
#                                       creates role and database `kexpose`; prints the backend URL
#   scripts/state-db.sh stop    [DIR]   stop the server and remove its data
#   scripts/state-db.sh restart [DIR]   stop and start the same data (tests: a restart mid-`up`)
#   scripts/state-db.sh psql    [DIR] [psql args…]   psql as the superuser over the private socket
#
# DIR (default .kexpose/state-db) receives `env` (PGPORT, KEXPOSE_STATE_URL, …) and `ca.pem`.
# The server never runs as root: as root it runs as the `postgres` user (Debian's package creates
# it), otherwise as the calling user. Its data lives in a temp dir that user owns, not in DIR,
# whose parents (a checkout under /root, pytest's tmp) the server user may not be able to enter.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
DIR=${2:-$ROOT/.kexpose/state-db}
shift $(($# < 2 ? $# : 2))

die() { printf 'state-db: %s\n' "$*" >&2; exit 1; }

pg_bin() {
  # Debian keeps the server binaries out of PATH, in /usr/lib/postgresql/<major>/bin.
  if command -v pg_ctl >/dev/null; then dirname "$(command -v pg_ctl)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $d ]] || die "PostgreSQL is not installed: run make setup (Debian package postgresql)"
  echo "$d"
}

as_server_user() {
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "no postgres user: run make setup (Debian package postgresql)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

make_tls() {
  # A private CA and a server certificate for 127.0.0.1/localhost, so the URL can use
  # sslmode=verify-full the way a production one does.
  local tls=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=kexpose-state-db-ca -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') -out "$tls/server.crt" 2>/dev/null
  rm -f "$tls/ca.key" "$tls/server.csr"
  chmod 0600 "$tls/server.key"
}

server() {
  # shellcheck disable=SC1091
  source "$DIR/env"
  as_server_user "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -w -t 30 "$@" >/dev/null
}

superuser_psql() {
  # shellcheck disable=SC1091
  source "$DIR/env"
  psql -X -q -v ON_ERROR_STOP=1 -h "$PGDATA_DIR/sock" -p "$PGPORT" -U postgres "$@"
}

start() {
  [[ ! -f $DIR/env ]] || die "already started ($DIR/env exists): scripts/state-db.sh stop $DIR"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  local tmp port password bin
  bin=$(pg_bin)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/kexpose-pg.XXXXXX")
  mkdir -p "$tmp/sock" "$tmp/tls"
  make_tls "$tmp/tls"
  cp "$tmp/tls/ca.pem" "$DIR/ca.pem"
  ((EUID != 0)) || chown -R postgres: "$tmp"
  chmod 0700 "$tmp/sock"
  as_server_user "$bin/initdb" -D "$tmp/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  port=$(free_port)
  cat >>"$tmp/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$tmp/sock'
ssl = on
ssl_cert_file = '$tmp/tls/server.crt'
ssl_key_file = '$tmp/tls/server.key'
EOF
  password=$(openssl rand -hex 16)
  cat >"$DIR/env" <<EOF
PGDATA_DIR=$tmp
PGPORT=$port
KEXPOSE_STATE_PASSWORD=$password
KEXPOSE_STATE_URL='postgres://kexpose:$password@127.0.0.1:$port/kexpose?sslmode=verify-full&sslrootcert=$DIR/ca.pem'
EOF
  chmod 0600 "$DIR/env"
  server start
  # The role and database as the README's "State for a team" creates them.
  superuser_psql -d postgres <<EOF
CREATE ROLE kexpose LOGIN PASSWORD '$password';
CREATE DATABASE kexpose OWNER kexpose;
EOF
  # shellcheck disable=SC1091
  source "$DIR/env"
  printf '%s\n' "$KEXPOSE_STATE_URL"
}

stop() {
  [[ -f $DIR/env ]] || return 0
  # shellcheck disable=SC1091
  source "$DIR/env"
  server stop -m fast || true
  rm -rf "$PGDATA_DIR" "$DIR/env" "$DIR/ca.pem"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  restart) server restart -m fast ;;
  psql) superuser_psql "$@" ;;
  *) die "usage: scripts/state-db.sh start|stop|restart|psql [DIR] [psql args…]" ;;
esac
