# Shared helpers for deploy/local/*.sh (sourced, not executed).
# shellcheck shell=bash

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
# Everything the local servers write (jars, data, logs, pid files) lives here.
FAPIAO_LOCAL_DIR=${FAPIAO_LOCAL_DIR:-$REPO_DIR/.local}

log() { printf '[%s] %s\n' "${LOG_TAG:-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Create the state folder; it carries its own .gitignore so it never gets committed.
ensure_local_dir() {
    mkdir -p "$FAPIAO_LOCAL_DIR"
    [[ -f $FAPIAO_LOCAL_DIR/.gitignore ]] || printf '*\n' >"$FAPIAO_LOCAL_DIR/.gitignore"
}

# apt-get that waits for the dpkg lock (up to 5 min; e.g. a background install) and retries
# a few times (lists lock, network hiccups).
apt_retry() {
    local i
    for i in $(seq 1 10); do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; then
            return 0
        fi
        log "apt-get $1 failed (attempt $i; lock held or network hiccup); retrying in 10 s"
        sleep 10
    done
    die "apt-get $* kept failing"
}

# Install Debian packages that are not installed yet (one 'apt-get update' per run).
APT_UPDATED=${APT_UPDATED:-0}
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
    if [[ $APT_UPDATED != 1 ]]; then
        apt_retry update -q
        APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    apt_retry install -y -q --no-install-recommends "${missing[@]}"
}

# python3 is needed for the small protocol probes below.
ensure_python3() { command -v python3 >/dev/null 2>&1 || apt_install python3; }

# pid_alive PIDFILE PATTERN: the pid in PIDFILE runs and its command line contains PATTERN
# (guards against a recycled pid after a reboot or crash).
pid_alive() {
    local pidfile=$1 pattern=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # /proc/PID/cmdline reads empty while the process is in execve (spawn_detached's wrapper exec'ing
    # the server): read again rather than report a starting server as gone
    local cmdline='' i
    for ((i = 0; i < 20; i++)); do
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        [[ -n $cmdline ]] && break
        sleep 0.05
    done
    grep -q -- "$pattern" <<<"$cmdline"
}

# tcp_open PORT: something accepts connections on 127.0.0.1:PORT.
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pid PIDFILE PATTERN TIMEOUT: TERM, wait, then KILL. Idempotent.
stop_pid() {
    local pidfile=$1 pattern=$2 timeout=$3 pid i
    if ! pid_alive "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        log "not running"
        return 0
    fi
    pid=$(<"$pidfile")
    log "stopping pid $pid (TERM, up to ${timeout}s)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still alive after ${timeout}s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$pidfile"
    log "stopped"
}

# spawn_detached PIDFILE LOGFILE CMD...: run CMD in its own session (survives the caller's
# process group being killed), no stdin, output appended to LOGFILE. The wrapper shell writes
# its own pid and then execs CMD, so PIDFILE holds the real server pid.
spawn_detached() {
    local pidfile=$1 logfile=$2 i
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner shell
    nohup setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null
    for ((i = 0; i < 50; i++)); do
        [[ -s $pidfile ]] && return 0
        sleep 0.1
    done
    die "could not start: $*"
}
