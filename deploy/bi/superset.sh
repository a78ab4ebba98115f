#!/usr/bin/env bash
# Apache Superset for live BI on the project's ClickHouse: install | setup | start | provision | stop | status.
# `make bi` runs them in order. Everything lives under $FAPIAO_BI_HOME (default .local/bi); Superset is
# installed from PyPI into its own virtualenv (.local/bi-venv), never into the project's .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
VENV="${FAPIAO_BI_VENV:-$ROOT/.local/bi-venv}"
export FAPIAO_BI_HOME="${FAPIAO_BI_HOME:-$ROOT/.local/bi}"
export SUPERSET_CONFIG_PATH="$ROOT/deploy/bi/superset_config.py"
export FLASK_APP=superset
PORT="${FAPIAO_BI_PORT:-8088}"
ADMIN="${FAPIAO_BI_ADMIN:-admin}"
PASSWORD="${FAPIAO_BI_PASSWORD:-Bi-Admin-47-pass}"
PID="$FAPIAO_BI_HOME/superset.pid"
mkdir -p "$FAPIAO_BI_HOME"

install() {
  local stamp="$VENV/.installed-$(sha256sum deploy/bi/requirements.txt | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r deploy/bi/requirements.txt
  touch "$stamp"
}

setup() {
  [ -f "$FAPIAO_BI_HOME/.setup" ] && return 0
  "$VENV/bin/superset" db upgrade >"$FAPIAO_BI_HOME/setup.log" 2>&1
  "$VENV/bin/superset" fab create-admin --username "$ADMIN" --firstname BI --lastname Admin \
    --email bi-admin@example.com --password "$PASSWORD" >>"$FAPIAO_BI_HOME/setup.log" 2>&1
  "$VENV/bin/superset" init >>"$FAPIAO_BI_HOME/setup.log" 2>&1
  touch "$FAPIAO_BI_HOME/.setup"
}

start() {
  if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then echo "superset already running"; return 0; fi
  "$VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 1 --threads 4 --timeout 120 --daemon \
    --pid "$PID" --error-logfile "$FAPIAO_BI_HOME/superset.log" --access-logfile /dev/null \
    "superset.app:create_app()"
  for _ in $(seq 1 180); do
    if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then echo "superset on http://127.0.0.1:$PORT"; return 0; fi
    sleep 1
  done
  echo "superset did not answer on :$PORT (see $FAPIAO_BI_HOME/superset.log)" >&2
  return 1
}

provision() {
  "$VENV/bin/python" deploy/bi/provision.py --url "http://127.0.0.1:$PORT" --user "$ADMIN" --password "$PASSWORD"
}

stop() {
  if [ -f "$PID" ]; then kill "$(cat "$PID")" 2>/dev/null || true; rm -f "$PID"; fi
}

status() {
  if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then echo "superset running on :$PORT"; else echo "superset stopped"; fi
}

case "${1:-}" in
  install|setup|start|provision|stop|status) "$1" ;;
  all) install; setup; start; provision ;;
  *) echo "usage: $0 install|setup|start|provision|stop|status|all" >&2; exit 2 ;;
esac
