#!/usr/bin/env bash
# Keep a process running: restart it when it exits non-zero (a crash, or the worker's crash-only exit 75
# on an infrastructure failure), with a short back-off that grows on quick repeated failures.
# A clean exit (0) or SIGTERM/SIGINT to this script stops it (the signal is passed on to the child).
#
#   deploy/local/supervise.sh COMMAND [ARGS...]
set -uo pipefail

child=0
stopping=0
on_signal() { stopping=1; [[ $child -ne 0 ]] && kill -TERM "$child" 2>/dev/null; }
trap on_signal TERM INT

delay=1
while :; do
    started=$(date +%s)
    "$@" &
    child=$!
    wait "$child"; rc=$?
    while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done  # wait returns early on a trap
    child=0
    if [[ $stopping -eq 1 || $rc -eq 0 ]]; then exit "$rc"; fi
    if (( $(date +%s) - started > 60 )); then delay=1; fi
    echo "[supervise] $(date -u +%FT%TZ) '$1 ${2:-}' exited with $rc; restarting in ${delay}s" >&2
    sleep "$delay"
    (( delay = delay < 30 ? delay * 2 : 30 ))
done
