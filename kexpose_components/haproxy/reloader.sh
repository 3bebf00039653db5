#!/bin/sh
# kexpose's HAProxy reloader (delivered by `pulumi up`; do not edit on the agent).
#
# Runs HAProxy in master-worker mode on every *.cfg file of the config directory and reloads it
# in place when kexpose delivers a new haproxy.cfg (kexpose renames it into place after every
# file it references, so a new revision line means a complete set): the new files are checked
# with `haproxy -c` first and only then is the master sent SIGUSR2; the old workers finish
# their connections, new connections get the new config. A set HAProxy refuses is not loaded:
# the running config keeps serving. Every outcome is written to the status file in the task's
# sandbox, which kexpose reads back through the Mesos agent's files API:
#   state <started|reloaded|rejected>
#   revision <the revision of haproxy.cfg it concerns>
#   served <the revision the workers serve>
#   [ALERT] lines of `haproxy -c`, when rejected
set -u
DIR=${1:-/haproxy}
HAPROXY=/usr/local/sbin/haproxy
STATUS=${MESOS_SANDBOX:-/tmp}/kexpose-reload.status

revision() {
  sed -n 's/^# kexpose-revision: *//p' "$DIR/haproxy.cfg" 2>/dev/null | head -n 1
}

report() {  # state revision served [alerts]
  printf 'state %s\nrevision %s\nserved %s\n%s\n' "$1" "$2" "$3" "${4:-}" > "$STATUS.tmp" && mv -f "$STATUS.tmp" "$STATUS"
}

served=$(revision)
"$HAPROXY" -W -db -f "$DIR" &
master=$!
# Marathon stops the task with SIGTERM to its process group (the master gets it too); either
# way HAProxy stops with the task.
trap 'kill -TERM "$master" 2>/dev/null; wait "$master"; exit 143' TERM INT
report started "$served" "$served"
seen=$served
while kill -0 "$master" 2>/dev/null; do
  sleep 1 & wait $!  # in the background, so a SIGTERM is handled at once
  current=$(revision)
  [ "$current" = "$seen" ] && continue
  seen=$current
  if out=$("$HAPROXY" -c -f "$DIR" 2>&1); then
    kill -USR2 "$master"
    served=$current
    report reloaded "$current" "$served"
  else
    report rejected "$current" "$served" "$(printf '%s\n' "$out" | grep '\[ALERT\]')"
  fi
done
wait "$master"
