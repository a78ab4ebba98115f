#!/usr/bin/env bash
# Start/stop the application processes of `make run`: migrations, topics, worker, API, demo feed.
#
#   deploy/local/run.sh start | stop | status
#
# Assumes Kafka and ClickHouse are up (deploy/local/stack.sh up). Logs and pid files go to
# $FAPIAO_LOCAL_DIR/run (default <repo>/.local/run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=${FAPIAO_LOCAL_DIR:-$ROOT/.local}/run
BIN=$ROOT/.venv/bin
API_PORT=${FAPIAO_API_PORT:-8000}
DEMO_RATE=${FAPIAO_DEMO_RATE:-20}
# Faust workers in one group (each with its own RocksDB data dir: .local/worker, .local/worker-2, …)
WORKERS=${FAPIAO_WORKERS:-1}
STATIC_ID=${FAPIAO_WORKER_INSTANCE_ID-local}  # static membership unless set empty (docs/operations.md)
WORKER_NAMES=$(for ((n = 1; n <= WORKERS; n++)); do if ((n == 1)); then echo worker; else echo "worker-$n"; fi; done)
mkdir -p "$RUN_DIR"
cd "$ROOT"
# Local development only: reset and invitation tokens come back in the API's answers (there is no mail
# server here). The API warns at start; production refuses the flag (fapiao/settings.py).
export FAPIAO_DEV_EXPOSE_TOKENS=${FAPIAO_DEV_EXPOSE_TOKENS:-true}
# FAPIAO_CLUSTER=1 (make run): the app talks to deploy/local/cluster.sh's brokers and ClickHouse nodes,
# which take SASL/SCRAM logins: the one-shot commands below run as `admin`, each service as its own
# principal (fapiao/kafka_acls.py; `login USER` gives its settings)
CLUSTER=${FAPIAO_CLUSTER:-0}
if [[ $CLUSTER == 1 ]]; then eval "$("$ROOT/deploy/local/cluster.sh" env admin)"; fi
login() { if [[ $CLUSTER == 1 ]]; then "$ROOT/deploy/local/cluster.sh" env "$1" | sed -n 's/^export //p'; fi; }

alive() { [[ -f "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

launch() {  # name, command...
    local name=$1; shift
    if alive "$name"; then echo "$name: already running (pid $(cat "$RUN_DIR/$name.pid"))"; return; fi
    nohup "$@" >"$RUN_DIR/$name.log" 2>&1 &
    echo $! >"$RUN_DIR/$name.pid"
    echo "$name: started (pid $!), log $RUN_DIR/$name.log"
}

wait_for() {  # description, seconds, command...
    local what=$1 limit=$2; shift 2
    for ((i = 0; i < limit * 4; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "timed out waiting for $what" >&2
    return 1
}

case ${1:-} in
    start)
        "$BIN/fapiao" db migrate
        "$BIN/fapiao" kafka init
        "$BIN/fapiao" accounts migrate
        # the demo organisation `demo` (the demo feed's checks belong to it), its admin and an API key
        API_KEY=$("$BIN/fapiao" accounts bootstrap-demo)
        # supervised: restarted when it exits non-zero (crash-only on infrastructure failures, docs/operations.md)
        for name in $WORKER_NAMES; do
            # own data dir each; static group membership by default (a worker restarted after a crash takes
            # its partitions back at once instead of after the session timeout: docs/operations.md), with
            # an id unique per worker (FAPIAO_WORKER_INSTANCE_ID= empty turns it off)
            # shellcheck disable=SC2046  # one VAR=value word per line of `login`
            launch "$name" env $(login worker) FAPIAO_DATA_DIR="${FAPIAO_LOCAL_DIR:-$ROOT/.local}/$name" \
                FAPIAO_WORKER_INSTANCE_ID="${STATIC_ID:+$STATIC_ID-$name}" \
                "$ROOT/deploy/local/supervise.sh" "$BIN/fapiao" worker
        done
        for name in $WORKER_NAMES; do
            wait_for "$name" 90 grep -q "Worker ready" "$RUN_DIR/$name.log" || { tail -50 "$RUN_DIR/$name.log"; exit 1; }
        done
        # shellcheck disable=SC2046
        launch api env $(login api) "$BIN/fapiao" api --port "$API_PORT"
        wait_for "the API" 60 curl -sf "http://127.0.0.1:$API_PORT/readyz" || { tail -50 "$RUN_DIR/api.log"; exit 1; }
        # shellcheck disable=SC2046
        launch demo env $(login demo) "$BIN/fapiao" demo --rate "$DEMO_RATE"
        # shellcheck disable=SC2046  # deliveries to the organisations' webhook subscriptions
        launch webhooks env $(login webhooks) "$BIN/fapiao" webhooks
        cat <<MSG

Fapiao Sentinel is running.
  Web app:               http://127.0.0.1:$API_PORT/app/   (log in as the demo admin, or with the API key)
  API and OpenAPI docs:  http://127.0.0.1:$API_PORT/docs
  Metrics:               http://127.0.0.1:$API_PORT/metrics
  Demo organisation:     demo: its admin's email and password are in .local/demo-credentials.json
  Its API key:           $API_KEY   (again: .venv/bin/fapiao accounts bootstrap-demo)
  A check:               curl -s -X POST 'http://127.0.0.1:$API_PORT/v1/checks?wait=2' -H 'content-type: application/json' \\
                           -H 'X-API-Key: $API_KEY' \\
                           -d "\$(.venv/bin/fapiao demo --sample-check)"
  Results in ClickHouse: clickhouse-client -d fapiao -q 'SELECT verdict, count() FROM check_results FINAL GROUP BY verdict'
  Logs:                  $RUN_DIR/{worker,api,demo}.log
  Stop:                  make stop
MSG
        ;;
    stop)
        # every worker started, whatever FAPIAO_WORKERS says now
        for name in webhooks demo api $(cd "$RUN_DIR" && ls worker*.pid 2>/dev/null | sed 's/[.]pid$//'); do
            if alive "$name"; then
                pid=$(cat "$RUN_DIR/$name.pid")
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
                kill -9 "$pid" 2>/dev/null || true
                echo "$name: stopped"
            fi
            rm -f "$RUN_DIR/$name.pid"
        done
        ;;
    status)
        for name in $WORKER_NAMES api demo webhooks; do
            if alive "$name"; then echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))"; else echo "$name: stopped"; fi
        done
        ;;
    *)
        echo "usage: $0 {start|stop|status}" >&2
        exit 2
        ;;
esac
