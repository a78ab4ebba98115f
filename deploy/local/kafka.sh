#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local single-node Apache Kafka (KRaft, combined broker+controller) from Maven Central jars.
#
#   deploy/local/kafka.sh fetch | start | stop | status | logs [-f]
#   KAFKA_SASL=1 deploy/local/kafka.sh start | stop | status | logs [-f] | users | acls
#
# Env: FAPIAO_LOCAL_DIR (default <repo>/.local), KAFKA_PORT (9092),
#      KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (512m), KAFKA_START_TIMEOUT (90 s),
#      KAFKA_STOP_TIMEOUT (60 s), KAFKA_DIR (state folder, default $FAPIAO_LOCAL_DIR/kafka).
# One node of a multi-node cluster (deploy/local/cluster.sh sets these): KAFKA_NODE_ID (1),
#      KAFKA_VOTERS (controller.quorum.voters, default this node only), KAFKA_CLUSTER_ID (shared by
#      the nodes; default a random one at format time), KAFKA_REPLICATION (1: replication factor of
#      new and internal topics; min.insync.replicas is 2 when it is 3 or more).
#
# KAFKA_SASL=1: a second broker beside the plaintext one (ports 9094/9095, state in
# $FAPIAO_LOCAL_DIR/kafka-sasl), configured by deploy/kafka/sasl-broker.sh as in docker-compose:
# SASL/SCRAM logins, one SCRAM user per service (random passwords written to $KAFKA_DIR/users.env
# when the storage is formatted), the StandardAuthorizer with `admin` as the only super user, and the
# ACLs of fapiao/kafka_acls.py applied on every start by `fapiao kafka acls --apply` (for the
# FAPIAO_TOPIC_PREFIX / FAPIAO_APP_ID in the environment; python: FAPIAO_PYTHON, else .venv's).
# The principals of FAPIAO_KAFKA_INTAKE get a SCRAM user too when named in KAFKA_SASL_EXTRA_USERS (at
# format time). A node of the SASL cluster (cluster.sh): KAFKA_USERS_ENV (the passwords file the nodes
# share), KAFKA_APPLY_ACLS=0 (the cluster applies them once: `acls`); `users` makes the passwords file.
# Needs root only when java/maven/python3 must be apt-installed.
set -euo pipefail

LOG_TAG=kafka
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KAFKA_SASL=${KAFKA_SASL:-0}
if [[ $KAFKA_SASL == 1 ]]; then
    LOG_TAG=kafka-sasl
    KAFKA_PORT=${KAFKA_PORT:-9094}
    KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9095}
    KDIR=${KAFKA_DIR:-$FAPIAO_LOCAL_DIR/kafka-sasl}
else
    KAFKA_PORT=${KAFKA_PORT:-9092}
    KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
    KDIR=${KAFKA_DIR:-$FAPIAO_LOCAL_DIR/kafka}
fi
# The SASL broker's config and SCRAM users come from the script docker-compose runs it with.
SASL_BROKER=$LIB_DIR/../kafka/sasl-broker.sh
USERS_ENV=${KAFKA_USERS_ENV:-$KDIR/users.env}
KAFKA_APPLY_ACLS=${KAFKA_APPLY_ACLS:-1}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
KAFKA_NODE_ID=${KAFKA_NODE_ID:-1}
KAFKA_VOTERS=${KAFKA_VOTERS:-$KAFKA_NODE_ID@127.0.0.1:$KAFKA_CONTROLLER_PORT}
KAFKA_REPLICATION=${KAFKA_REPLICATION:-1}
KAFKA_MIN_ISR=1
if ((KAFKA_REPLICATION >= 3)); then KAFKA_MIN_ISR=2; fi

POM=$LIB_DIR/kafka/pom.xml
LOG4J2=$LIB_DIR/kafka/log4j2.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")

JARS_DIR=$FAPIAO_LOCAL_DIR/kafka   # the jars are shared by both brokers
LIBS=$JARS_DIR/libs
DATA=$KDIR/data
PROPS=$KDIR/server.properties
PIDFILE=$KDIR/kafka.pid
LOG=$KDIR/kafka.log   # log4j2 output (see kafka/log4j2.xml)
OUT=$KDIR/kafka.out   # JVM stdout/stderr (crashes before logging is up)
MARKER=$LIBS/.fetched
PID_PATTERN=kafka.Kafka

# --- tools -------------------------------------------------------------------------------

java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }

# Kafka 4.x needs Java 17+; Debian 12's default JRE is 17.
ensure_java() {
    local major=0
    command -v java >/dev/null 2>&1 && major=$(java_major)
    if [[ ${major:-0} -lt 17 ]]; then
        # Slim images drop man pages, and the JRE's postinst then fails on a missing man1 dir.
        mkdir -p /usr/share/man/man1
        apt_install openjdk-17-jre-headless
    fi
}
ensure_maven() { command -v mvn >/dev/null 2>&1 || apt_install maven; }

# --- fetch -------------------------------------------------------------------------------

# The marker records version + pom checksum, so editing the pom triggers a re-fetch.
wanted_marker() { echo "kafka_2.13 $KAFKA_VERSION $(sha256sum "$POM" | cut -d' ' -f1)"; }

fetched() { [[ -f $MARKER && $(<"$MARKER") == "$(wanted_marker)" ]]; }

cmd_fetch() {
    ensure_local_dir
    if fetched; then
        log "Kafka $KAFKA_VERSION jars already in $LIBS"
        return 0
    fi
    ensure_java
    ensure_maven
    mkdir -p "$JARS_DIR"
    # Resolve in a scratch copy so mvn never writes into the source tree.
    local work=$JARS_DIR/mvn tmp=$JARS_DIR/libs.tmp t0=$SECONDS
    rm -rf "$work" "$tmp"
    mkdir -p "$work"
    cp "$POM" "$work/pom.xml"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
    # Output goes to a log (Debian's mvn prints stray colour codes even with -q -B).
    (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp" >"$JARS_DIR/mvn.log" 2>&1) \
        || { tail -n 60 "$JARS_DIR/mvn.log" >&2; die "mvn dependency:copy-dependencies failed (see $JARS_DIR/mvn.log)"; }
    [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
    rm -rf "$LIBS" "$work"
    mv "$tmp" "$LIBS"
    wanted_marker >"$MARKER"
    log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
    if pid_alive "$PIDFILE" "$PID_PATTERN"; then
        log "note: the running broker keeps its old jars until: $0 stop && $0 start"
    fi
}

# --- config + storage --------------------------------------------------------------------

write_props() {
    mkdir -p "$DATA"
    if [[ $KAFKA_SASL == 1 ]]; then
        write_sasl_props
        return
    fi
    cat >"$PROPS" <<PROPS
# Generated by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_VOTERS
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=4
auto.create.topics.enable=false
default.replication.factor=$KAFKA_REPLICATION
min.insync.replicas=$KAFKA_MIN_ISR
unclean.leader.election.enable=false
offsets.topic.replication.factor=$KAFKA_REPLICATION
transaction.state.log.replication.factor=$KAFKA_REPLICATION
transaction.state.log.min.isr=$KAFKA_MIN_ISR
share.coordinator.state.topic.replication.factor=$KAFKA_REPLICATION
share.coordinator.state.topic.min.isr=$KAFKA_MIN_ISR
group.initial.rebalance.delay.ms=0
PROPS
}

# Random passwords for the SCRAM users, made once (the users are created when the storage is formatted).
ensure_users_env() {
    [[ -s $USERS_ENV ]] && return 0
    [[ -f $DATA/meta.properties ]] \
        && die "$DATA is formatted but $USERS_ENV is gone: delete $KDIR to start over"
    local user
    mkdir -p "$(dirname "$USERS_ENV")"
    (
        umask 077
        for user in $("$SASL_BROKER" users); do
            echo "$user=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
        done >"$USERS_ENV.tmp"
    )
    mv "$USERS_ENV.tmp" "$USERS_ENV"
}

password_of() { sed -n "s/^$1=//p" "$USERS_ENV"; }

# sasl-broker.sh with this broker's addresses, node id, voters and the passwords of users.env (the
# variable of user `erp-intake` is KAFKA_SCRAM_PASSWORD_ERP_INTAKE, as sasl-broker.sh reads it).
sasl_broker() {
    local user var env=()
    for user in $("$SASL_BROKER" users); do
        var=${user^^}
        var=${var//[-.]/_}
        env+=("KAFKA_SCRAM_PASSWORD_$var=$(password_of "$user")")
    done
    env "${env[@]}" KAFKA_SASL_LISTENERS="SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT" \
        KAFKA_SASL_ADVERTISED="SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT" \
        KAFKA_SASL_CONTROLLER="127.0.0.1:$KAFKA_CONTROLLER_PORT" KAFKA_SASL_DATA="$DATA" \
        KAFKA_SASL_NODE_ID="$KAFKA_NODE_ID" KAFKA_SASL_VOTERS="$KAFKA_VOTERS" \
        KAFKA_SASL_REPLICATION="$KAFKA_REPLICATION" "$SASL_BROKER" "$@"
}

write_sasl_props() {
    ensure_users_env
    sasl_broker props "$PROPS"
}

# Apply the ACLs of fapiao/kafka_acls.py as `admin` (idempotent), with this checkout's code.
apply_acls() {
    local python=${FAPIAO_PYTHON:-$REPO_DIR/.venv/bin/python}
    [[ -x $python ]] || die "cannot apply the ACLs: no $python (make install, or set FAPIAO_PYTHON)"
    (cd "$REPO_DIR" && FAPIAO_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT FAPIAO_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT \
        FAPIAO_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 FAPIAO_KAFKA_USERNAME=admin \
        FAPIAO_KAFKA_PASSWORD="$(password_of admin)" FAPIAO_LOG_JSON=false \
        "$python" -m services.cli kafka acls --apply >"$KDIR/acls.txt" 2>&1) \
        || { tail -n 40 "$KDIR/acls.txt" >&2; die "fapiao kafka acls --apply failed"; }
    log "$(tail -n1 "$KDIR/acls.txt") (list: $KDIR/acls.txt)"
}

# JVM command line shared by StorageTool and the broker (flags as in Kafka's start scripts).
JAVA_CMD=(java "-Xmx$KAFKA_HEAP" "-Xms$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Dkafka.logs.dir=$KDIR" "-Dlog4j2.configurationFile=$LOG4J2" -cp "$LIBS/*")

# Format the KRaft storage once (an unformatted log.dirs makes the broker exit).
format_storage() {
    [[ -f $DATA/meta.properties ]] && return 0
    local cid=${KAFKA_CLUSTER_ID:-} t0=$SECONDS
    [[ -n $cid ]] || cid=$(cd "$KDIR" && "${JAVA_CMD[@]}" kafka.tools.StorageTool random-uuid 2>>"$OUT" | tail -n1) || cid=''
    [[ -n $cid ]] || { tail -n 40 "$OUT" >&2; die "StorageTool random-uuid failed"; }
    echo "$cid" >"$KDIR/cluster.id"
    log "formatting $DATA (cluster id $cid)"
    local extra=()
    if [[ $KAFKA_SASL == 1 ]]; then
        mapfile -t extra < <(sasl_broker scram-args)
        ((${#extra[@]})) || die "no SCRAM users (deploy/kafka/sasl-broker.sh scram-args)"
    fi
    (cd "$KDIR" && "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cid" -c "$PROPS" -g "${extra[@]}" >>"$OUT" 2>&1) \
        || { tail -n 40 "$OUT" >&2; die "StorageTool format failed"; }
    log "formatted in $((SECONDS - t0))s"
}

# --- protocol probe ----------------------------------------------------------------------

# Send a Kafka ApiVersions v0 request with a plain socket and check the answer.
# Exit 0 = broker answered with error_code 0. Prints a one-line summary with -v.
probe() {
    python3 - "$KAFKA_PORT" "${1:-}" <<'PY'
import socket, struct, sys

port, verbose = int(sys.argv[1]), sys.argv[2] == "-v"
corr, client = 0x0F4A, b"fapiao-local-probe"
# request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id
req = struct.pack(">hhih", 18, 0, corr, len(client)) + client


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed by peer")
        buf += chunk
    return buf


try:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.settimeout(3)
        s.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", recv_exact(s, 4))
        if not 10 <= size <= 1 << 20:  # not a Kafka answer (e.g. another protocol on the port)
            raise EOFError(f"implausible response size {size}")
        data = recv_exact(s, size)
except (OSError, EOFError) as exc:
    if verbose:
        print(f"no answer on 127.0.0.1:{port}: {exc}")
    sys.exit(1)

# response v0: correlation_id, error_code, [api_key, min_version, max_version]
rcorr, err, n = struct.unpack(">ihi", data[:10])
if rcorr != corr or err != 0:
    if verbose:
        print(f"unexpected ApiVersions answer: correlation={rcorr} error_code={err}")
    sys.exit(2)
apis = dict((k, (lo, hi)) for k, lo, hi in struct.iter_unpack(">hhh", data[10:10 + 6 * n]))
if 0 not in apis or 1 not in apis:  # must offer Produce and Fetch
    sys.exit(2)
if verbose:
    print(f"ApiVersions OK from 127.0.0.1:{port}: {n} APIs, Produce v{apis[0][0]}-{apis[0][1]}, "
          f"Fetch v{apis[1][0]}-{apis[1][1]}")
PY
}

# --- commands ----------------------------------------------------------------------------

cmd_start() {
    ensure_local_dir
    ensure_python3
    if pid_alive "$PIDFILE" "$PID_PATTERN" && probe; then
        log "already running (pid $(<"$PIDFILE")) on 127.0.0.1:$KAFKA_PORT"
        if [[ $KAFKA_SASL == 1 && $KAFKA_APPLY_ACLS == 1 ]]; then apply_acls; fi
        return 0
    fi
    if ! pid_alive "$PIDFILE" "$PID_PATTERN" && probe; then
        log "WARNING: a Kafka broker not started by this script already answers on 127.0.0.1:$KAFKA_PORT; leaving it alone"
        return 0
    fi
    local t0=$SECONDS i
    if ! pid_alive "$PIDFILE" "$PID_PATTERN"; then
        rm -f "$PIDFILE"
        cmd_fetch
        ensure_java
        write_props
        format_storage
        tcp_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT is taken by something that is not a Kafka broker"
        log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)"
        echo "=== $(date -Is) start" >>"$OUT"
        (cd "$KDIR" && spawn_detached "$PIDFILE" "$OUT" "${JAVA_CMD[@]}" kafka.Kafka "$PROPS")
        t0=$SECONDS
    fi
    # Our process is up (just started or still booting): wait for a real protocol answer.
    for ((i = 0; i < KAFKA_START_TIMEOUT; i++)); do
        if ! pid_alive "$PIDFILE" "$PID_PATTERN"; then
            show_tail
            rm -f "$PIDFILE"
            die "broker process exited during startup"
        fi
        if tcp_open "$KAFKA_PORT" && probe; then
            log "ready in $((SECONDS - t0))s (pid $(<"$PIDFILE"))"
            if [[ $KAFKA_SASL == 1 && $KAFKA_APPLY_ACLS == 1 ]]; then apply_acls; fi
            return 0
        fi
        sleep 1
    done
    show_tail
    die "broker did not answer ApiVersions on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (still running, pid $(<"$PIDFILE"))"
}

show_tail() {
    local f
    for f in "$OUT" "$LOG"; do
        [[ -s $f ]] || continue
        echo "----- last 80 lines of $f -----" >&2
        tail -n 80 "$f" >&2
    done
}

cmd_stop() { stop_pid "$PIDFILE" "$PID_PATTERN" "$KAFKA_STOP_TIMEOUT"; }

cmd_status() {
    ensure_python3
    local detail
    if detail=$(probe -v); then
        if pid_alive "$PIDFILE" "$PID_PATTERN"; then
            echo "kafka: running (pid $(<"$PIDFILE")) - $detail"
        else
            echo "kafka: running (not started by this script) - $detail"
        fi
        return 0
    fi
    if pid_alive "$PIDFILE" "$PID_PATTERN"; then
        echo "kafka: starting or unhealthy (pid $(<"$PIDFILE")) - $detail"
    else
        echo "kafka: stopped"
    fi
    return 1
}

cmd_logs() {
    [[ -f $LOG ]] || die "no log yet at $LOG"
    if [[ ${1:-} == -f ]]; then tail -n 100 -F "$LOG"; else tail -n 100 "$LOG"; fi
}

case ${1:-} in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    users) [[ $KAFKA_SASL == 1 ]] || die "users: only with KAFKA_SASL=1"; ensure_users_env ;;
    acls) [[ $KAFKA_SASL == 1 ]] || die "acls: only with KAFKA_SASL=1"; apply_acls ;;
    *) echo "usage: $0 {fetch|start|stop|status|logs [-f]|users|acls}" >&2; exit 2 ;;
esac
