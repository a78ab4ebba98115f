#!/usr/bin/env bash
# Start/stop the whole local stack (Kafka + ClickHouse) for Fapiao Sentinel.
#
#   deploy/local/stack.sh up | down | status
#
# Both servers keep their state in $FAPIAO_LOCAL_DIR (default <repo>/.local). The app
# defaults match: FAPIAO_KAFKA_BOOTSTRAP=127.0.0.1:9092, FAPIAO_CLICKHOUSE_HOST=127.0.0.1,
# FAPIAO_CLICKHOUSE_PORT=9000.
# FAPIAO_CLUSTER=1: the three-broker Kafka + sharded, replicated ClickHouse cluster instead
# (deploy/local/cluster.sh; run.sh then points the app at it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${FAPIAO_CLUSTER:-0} == 1 ]]; then
    case ${1:-} in
        up | down | status) exec "$HERE/cluster.sh" "$1" ;;
    esac
fi

case ${1:-} in
    up)
        "$HERE/clickhouse.sh" start
        "$HERE/kafka.sh" start
        ;;
    down)
        # Stop both even if one fails.
        rc=0
        "$HERE/kafka.sh" stop || rc=1
        "$HERE/clickhouse.sh" stop || rc=1
        exit $rc
        ;;
    status)
        rc=0
        "$HERE/kafka.sh" status || rc=1
        "$HERE/clickhouse.sh" status || rc=1
        exit $rc
        ;;
    *)
        echo "usage: $0 {up|down|status}" >&2
        exit 2
        ;;
esac
