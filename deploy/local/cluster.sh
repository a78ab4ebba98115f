#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A local cluster on 127.0.0.1: three KRaft Kafka nodes (broker+controller, the jars of kafka.sh),
# ZooKeeper (Apache's jars from Maven Central) and four ClickHouse servers (clickhouse.sh's binary):
# cluster `fapiao`, two shards x two replicas.
#
#   deploy/local/cluster.sh fetch | up | down | status | env [USER] | pid NODE
#
# `up` starts whatever is not running (so after a node was killed, `up` brings it back) and waits
# until every node answers. `env` prints the FAPIAO_* settings that point the app at the cluster
# (`eval "$(deploy/local/cluster.sh env)"`; `FAPIAO_CLUSTER=1 make run` does it). `pid NODE` prints a
# node's pid (kafka-1..3, zookeeper, ch-s1r1, ch-s1r2, ch-s2r1, ch-s2r2), for failure tests.
#
# The brokers run SASL/SCRAM with ACLs, as docker-compose's `cluster` profile (issue 16, item 7): each
# node is kafka.sh's KAFKA_SASL=1 broker (deploy/kafka/sasl-broker.sh), formatted with one SCRAM user per
# principal of fapiao/kafka_acls.py (random passwords, made once, in $CLUSTER_DIR/kafka-users.env) and
# the users of KAFKA_SASL_EXTRA_USERS (FAPIAO_KAFKA_INTAKE's principals); `up` applies the ACLs once for
# the FAPIAO_TOPIC_PREFIX / FAPIAO_APP_ID / FAPIAO_KAFKA_INTAKE of its environment (again when they or
# the ACL code change). `env USER` logs in as USER (api, worker, demo, …; default admin, for the one-shot
# admin commands: topics, migrations). CLUSTER_SASL=0: PLAINTEXT brokers, for comparison only.
#
# Env: FAPIAO_LOCAL_DIR (jars; default <repo>/.local), CLUSTER_DIR (state, default
#      $FAPIAO_LOCAL_DIR/cluster), CLUSTER_PORT_BASE (19000): Kafka nodes listen on base+91..93
#      (controllers base+191..193), ZooKeeper on base+181, ClickHouse node n (1..4) on base+300+n
#      (native), base+310+n (HTTP), base+320+n (replication). KAFKA_HEAP (384m), ZOOKEEPER_HEAP (256m).
set -euo pipefail

LOG_TAG=cluster
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

CLUSTER_DIR=${CLUSTER_DIR:-$FAPIAO_LOCAL_DIR/cluster}
BASE=${CLUSTER_PORT_BASE:-19000}
export KAFKA_HEAP=${KAFKA_HEAP:-384m}
ZOOKEEPER_HEAP=${ZOOKEEPER_HEAP:-256m}
CLUSTER_NAME=fapiao
KAFKA_NODES=(1 2 3)
CH_NODES=(s1r1 s1r2 s2r1 s2r2)   # shard, replica; node n is CH_NODES[n-1]
CLUSTER_SASL=${CLUSTER_SASL:-1}
USERS_ENV=$CLUSTER_DIR/kafka-users.env   # the SCRAM passwords the three nodes share
ACLS_MARKER=$CLUSTER_DIR/kafka-acls.applied

kafka_port() { echo $((BASE + 90 + $1)); }
controller_port() { echo $((BASE + 190 + $1)); }
ZK_PORT=$((BASE + 181))
ch_index() { local i; for i in "${!CH_NODES[@]}"; do [[ ${CH_NODES[$i]} == "$1" ]] && echo $((i + 1)); done; }
ch_port() { echo $((BASE + 300 + $(ch_index "$1"))); }
ch_http_port() { echo $((BASE + 310 + $(ch_index "$1"))); }
ch_interserver_port() { echo $((BASE + 320 + $(ch_index "$1"))); }

bootstrap() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(kafka_port "$n")"); done; (IFS=,; echo "${out[*]}"); }
voters() { local n out=(); for n in "${KAFKA_NODES[@]}"; do out+=("$n@127.0.0.1:$(controller_port "$n")"); done; (IFS=,; echo "${out[*]}"); }

# kafka.sh / clickhouse.sh with one node's ports and folder.
kafka_node() {
    local n=$1
    shift
    KAFKA_PORT=$(kafka_port "$n") KAFKA_CONTROLLER_PORT=$(controller_port "$n") KAFKA_DIR=$CLUSTER_DIR/kafka-$n \
        KAFKA_NODE_ID=$n KAFKA_VOTERS=$(voters) KAFKA_REPLICATION=3 KAFKA_CLUSTER_ID=$(cluster_id) \
        KAFKA_SASL=$CLUSTER_SASL KAFKA_USERS_ENV=$USERS_ENV KAFKA_APPLY_ACLS=0 \
        LOG_TAG=kafka-$n "$LIB_DIR/kafka.sh" "$@"
}
ch_node() {
    local node=$1
    shift
    CLICKHOUSE_PORT=$(ch_port "$node") CLICKHOUSE_HTTP_PORT=$(ch_http_port "$node") \
        CLICKHOUSE_DIR=$CLUSTER_DIR/ch-$node "$LIB_DIR/clickhouse.sh" "$@"
}

# One KRaft cluster id for the three nodes, made once (a node formatted with another id would not join).
cluster_id() {
    local file=$CLUSTER_DIR/kafka-cluster.id
    if [[ ! -s $file ]]; then
        mkdir -p "$CLUSTER_DIR"
        # 16 random bytes, URL-safe base64 without padding: the form StorageTool random-uuid prints
        python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))' >"$file"
    fi
    cat "$file"
}

# --- ZooKeeper ---------------------------------------------------------------------------

ZK_POM=$LIB_DIR/zookeeper/pom.xml
ZK_JARS=$FAPIAO_LOCAL_DIR/zookeeper/libs
ZK_DIR=$CLUSTER_DIR/zookeeper
ZK_PID=$ZK_DIR/zookeeper.pid
ZK_PATTERN=org.apache.zookeeper.server.ZooKeeperServerMain

zk_marker() { echo "zookeeper $(sha256sum "$ZK_POM" | cut -d' ' -f1)"; }

fetch_zookeeper() {
    ensure_local_dir
    [[ -f $ZK_JARS/.fetched && $(<"$ZK_JARS/.fetched") == "$(zk_marker)" ]] && return 0
    command -v mvn >/dev/null 2>&1 || apt_install maven
    local work=$FAPIAO_LOCAL_DIR/zookeeper/mvn tmp=$ZK_JARS.tmp
    rm -rf "$work" "$tmp"
    mkdir -p "$work"
    cp "$ZK_POM" "$work/pom.xml"
    log "fetching ZooKeeper jars from Maven Central"
    (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
        >"$work.log" 2>&1) || { tail -n 40 "$work.log" >&2; die "mvn failed for ZooKeeper (see $work.log)"; }
    rm -rf "$ZK_JARS" "$work"
    mv "$tmp" "$ZK_JARS"
    zk_marker >"$ZK_JARS/.fetched"
}

zk_answers() { python3 - "$ZK_PORT" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
        s.sendall(b"srvr")  # "Mode: standalone" once serving ("ruok" says imok before that)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
        sys.exit(0 if b"Mode: " in answer else 1)
except OSError:
    sys.exit(1)
PY
}

start_zookeeper() {
    pid_alive "$ZK_PID" "$ZK_PATTERN" && zk_answers && return 0
    if ! pid_alive "$ZK_PID" "$ZK_PATTERN"; then
        fetch_zookeeper
        mkdir -p "$ZK_DIR/data"
        cat >"$ZK_DIR/zoo.cfg" <<CFG
# Generated by deploy/local/cluster.sh; edit the script, not this file.
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
tickTime=2000
maxClientCnxns=200
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
autopurge.purgeInterval=1
CFG
        cat >"$ZK_DIR/logback.xml" <<XML
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$ZK_DIR/zookeeper.log</file>
    <encoder><pattern>%d{ISO8601} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
XML
        tcp_open "$ZK_PORT" && die "127.0.0.1:$ZK_PORT is taken by another process"
        log "starting ZooKeeper on 127.0.0.1:$ZK_PORT"
        (cd "$ZK_DIR" && spawn_detached "$ZK_PID" "$ZK_DIR/zookeeper.out" java "-Xmx$ZOOKEEPER_HEAP" \
            "-Dlogback.configurationFile=$ZK_DIR/logback.xml" -cp "$ZK_JARS/*" "$ZK_PATTERN" "$ZK_DIR/zoo.cfg")
    fi
    local i
    for ((i = 0; i < 60; i++)); do
        pid_alive "$ZK_PID" "$ZK_PATTERN" || { tail -n 40 "$ZK_DIR/zookeeper.out" "$ZK_DIR/zookeeper.log" >&2 || true; die "ZooKeeper exited"; }
        zk_answers && { log "ZooKeeper ready (pid $(<"$ZK_PID"))"; return 0; }
        sleep 0.5
    done
    die "ZooKeeper did not answer on 127.0.0.1:$ZK_PORT within 30 s"
}

# --- ClickHouse --------------------------------------------------------------------------

# The cluster's part of a node's configuration, merged by the server from config.d/ and users.d/.
write_ch_cluster_config() {
    local node=$1 dir=$CLUSTER_DIR/ch-$1 shards='' s r
    for s in 1 2; do
        shards+="            <shard><internal_replication>true</internal_replication>"
        for r in 1 2; do
            shards+="<replica><host>127.0.0.1</host><port>$(ch_port "s${s}r$r")</port></replica>"
        done
        shards+=$'</shard>\n'
    done
    mkdir -p "$dir/config.d" "$dir/users.d"
    cat >"$dir/config.d/cluster.xml" <<XML
<?xml version="1.0"?>
<!-- Generated by deploy/local/cluster.sh; edit the script, not this file. -->
<yandex>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>$(ch_interserver_port "$node")</interserver_http_port>
    <remote_servers>
        <$CLUSTER_NAME>
$shards        </$CLUSTER_NAME>
    </remote_servers>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$ZK_PORT</port></node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>${node:1:1}</shard>
        <replica>$node</replica>
    </macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
XML
    # Inserts into a Distributed table return once every shard has stored its rows (so the sink's
    # acknowledgement still means "stored"); IN/JOIN over two Distributed tables run GLOBAL; no insert
    # deduplication (a retried block must reach the materialized views again: fapiao/warehouse/engine.py).
    cat >"$dir/users.d/cluster.xml" <<XML
<?xml version="1.0"?>
<!-- Generated by deploy/local/cluster.sh; edit the script, not this file. -->
<yandex>
    <profiles>
        <default>
            <insert_distributed_sync>1</insert_distributed_sync>
            <distributed_product_mode>global</distributed_product_mode>
            <insert_deduplicate>0</insert_deduplicate>
            <load_balancing>in_order</load_balancing>
            <connect_timeout_with_failover_ms>200</connect_timeout_with_failover_ms>
        </default>
    </profiles>
</yandex>
XML
}

start_ch_node() {
    write_ch_cluster_config "$1"
    LOG_TAG=ch-$1 ch_node "$1" start
}

# --- commands ----------------------------------------------------------------------------

# parallel FN NODE...: FN NODE for every node at once; fails if any failed.
parallel() {
    local fn=$1 pids=() node rc=0
    shift
    for node in "$@"; do
        "$fn" "$node" &
        pids+=($!)
    done
    for node in "${pids[@]}"; do wait "$node" || rc=1; done
    return $rc
}

kafka_start() { kafka_node "$1" start; }

# What the applied ACLs depend on: the names they grant (prefix, app id, intake map) and the code.
acls_wanted() {
    printf '%s|%s|%s|%s\n' "${FAPIAO_TOPIC_PREFIX:-}" "${FAPIAO_APP_ID:-}" "${FAPIAO_KAFKA_INTAKE:-}" \
        "$(cat "$REPO_DIR"/fapiao/{kafka_acls,kafka_intake,topics}.py | sha256sum | cut -d' ' -f1)"
}

# The three nodes, then (SASL) the ACLs of fapiao/kafka_acls.py through node 1 (cluster metadata: once
# for the cluster, and not again while they are the same, so bringing a node back costs nothing).
kafka_up() {
    parallel kafka_start "${KAFKA_NODES[@]}" || return 1
    [[ $CLUSTER_SASL == 1 ]] || return 0
    [[ -f $ACLS_MARKER && $(<"$ACLS_MARKER") == "$(acls_wanted)" ]] && return 0
    kafka_node 1 acls || return 1
    acls_wanted >"$ACLS_MARKER"
}
kafka_stop() { kafka_node "$1" stop; }
ch_stop() { LOG_TAG=ch-$1 ch_node "$1" stop; }

cmd_up() {
    ensure_local_dir
    ensure_python3
    mkdir -p "$CLUSTER_DIR"
    [[ -f $CLUSTER_DIR/.gitignore ]] || printf '*\n' >"$CLUSTER_DIR/.gitignore"
    local t0=$SECONDS
    LOG_TAG=kafka "$LIB_DIR/kafka.sh" fetch
    cluster_id >/dev/null
    if [[ $CLUSTER_SASL == 1 ]]; then
        kafka_node 1 users || die "no SCRAM passwords: a cluster formatted without SASL? delete $CLUSTER_DIR"
    fi
    # the three KRaft nodes must start together: none is ready before a quorum of controllers is
    kafka_up &
    local kafka=$!
    start_zookeeper
    parallel start_ch_node "${CH_NODES[@]}" || { wait "$kafka" || true; die "a ClickHouse node failed to start"; }
    wait "$kafka" || die "a Kafka node failed to start"
    log "cluster up in $((SECONDS - t0))s: Kafka $(bootstrap), ClickHouse cluster '$CLUSTER_NAME' on $(ch_hosts)"
}

cmd_down() {
    local rc=0
    parallel kafka_stop "${KAFKA_NODES[@]}" || rc=1
    parallel ch_stop "${CH_NODES[@]}" || rc=1
    LOG_TAG=zookeeper stop_pid "$ZK_PID" "$ZK_PATTERN" 30 || rc=1
    return $rc
}

cmd_status() {
    local rc=0 n
    for n in "${KAFKA_NODES[@]}"; do kafka_node "$n" status | sed "s/^kafka:/kafka-$n:/" || rc=1; done
    if pid_alive "$ZK_PID" "$ZK_PATTERN" && zk_answers; then
        echo "zookeeper: running (pid $(<"$ZK_PID")) on 127.0.0.1:$ZK_PORT"
    else
        echo "zookeeper: stopped"
        rc=1
    fi
    for n in "${CH_NODES[@]}"; do ch_node "$n" status | sed "s/^clickhouse:/ch-$n:/" || rc=1; done
    return $rc
}

ch_hosts() { local n out=(); for n in "${CH_NODES[@]}"; do out+=("127.0.0.1:$(ch_port "$n")"); done; (IFS=,; echo "${out[*]}"); }

cmd_env() {
    local alt user=${1:-admin} password
    alt=$(ch_hosts)
    if [[ $CLUSTER_SASL == 1 ]]; then
        password=$(sed -n "s/^$user=//p" "$USERS_ENV" 2>/dev/null)
        [[ -n $password ]] || die "no SCRAM user '$user' in $USERS_ENV (cluster not up yet?)"
        cat <<ENV
export FAPIAO_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
export FAPIAO_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
export FAPIAO_KAFKA_USERNAME=$user
export FAPIAO_KAFKA_PASSWORD=$password
ENV
    fi
    cat <<ENV
export FAPIAO_KAFKA_BOOTSTRAP=$(bootstrap)
export FAPIAO_TOPIC_REPLICATION=3
export FAPIAO_TOPIC_MIN_INSYNC_REPLICAS=2
export FAPIAO_CLICKHOUSE_HOST=127.0.0.1
export FAPIAO_CLICKHOUSE_PORT=$(ch_port s1r1)
export FAPIAO_CLICKHOUSE_ALT_HOSTS=${alt#*,}
export FAPIAO_CLICKHOUSE_CLUSTER=$CLUSTER_NAME
ENV
}

cmd_pid() {
    local node=${1:-} file
    case $node in
        kafka-[123]) file=$CLUSTER_DIR/$node/kafka.pid ;;
        zookeeper) file=$ZK_PID ;;
        ch-s[12]r[12]) file=$CLUSTER_DIR/$node/clickhouse.pid ;;
        *) die "unknown node '$node' (kafka-1..3, zookeeper, ch-s1r1, ch-s1r2, ch-s2r1, ch-s2r2)" ;;
    esac
    [[ -s $file ]] || die "$node is not running (no $file)"
    cat "$file"
}

case ${1:-} in
    fetch) LOG_TAG=kafka "$LIB_DIR/kafka.sh" fetch && fetch_zookeeper ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) shift; cmd_env "$@" ;;
    pid) shift; cmd_pid "$@" ;;
    *) echo "usage: $0 {fetch|up|down|status|env [USER]|pid NODE}" >&2; exit 2 ;;
esac
