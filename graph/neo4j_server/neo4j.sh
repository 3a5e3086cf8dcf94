#!/usr/bin/env bash
# Local Neo4j Community 5.26 server (embedded, Bolt on 127.0.0.1) for tests and local use.
#
#   graph/neo4j_server/neo4j.sh start    fetch the jars if missing, start, wait for Bolt,
#                                        print the store URL on stdout (already running: just print it)
#   graph/neo4j_server/neo4j.sh stop     stop it (SIGTERM, clean shutdown) and wait for exit
#   graph/neo4j_server/neo4j.sh status   print the store URL and exit 0 if running, else exit 3
#
# Env: NEO4J_PORT (7687), NEO4J_PASSWORD (lineage-test; at least 8 characters; set it empty to
# disable auth), NEO4J_START_TIMEOUT (120 s), NEO4J_HEAP (2g), NEO4J_JAVA (java, Java 17 or 21),
# NEO4J_STATE (<repo>/.neo4j: a second server from the same checkout needs its own).
# Everything at run time lives in the state directory: data/ (store and Neo4j's own logs),
# neo4j.log (launcher output), neo4j.pid, port and url (of the running server); the jars in
# <repo>/.neo4j/lib are shared. Delete data/ to reset the database.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE=${NEO4J_STATE:-$ROOT/.neo4j}
LIB=$ROOT/.neo4j/lib
DATA=$STATE/data
PIDFILE=$STATE/neo4j.pid
LOG=$STATE/neo4j.log
PORT=${NEO4J_PORT:-7687}
PASSWORD=${NEO4J_PASSWORD-lineage-test}
TIMEOUT=${NEO4J_START_TIMEOUT:-120}
HEAP=${NEO4J_HEAP:-2g}
JAVA=${NEO4J_JAVA:-java}

say() { echo "neo4j.sh: $*" >&2; }

url() {
    if [[ -z $PASSWORD ]]; then
        echo "neo4j://127.0.0.1:$PORT"
    else
        local pw
        pw=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PASSWORD")
        echo "neo4j://neo4j:$pw@127.0.0.1:$PORT"
    fi
}

# Pid of our running launcher, or nothing (a stale pid file is ignored).
running_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 0
    pid=$(<"$PIDFILE")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q Neo4jLauncher; then
        echo "$pid"
    fi
}

# The running server's port wins over NEO4J_PORT.
use_running_port() {
    local running
    running=$(cat "$STATE/port" 2>/dev/null || echo "$PORT")
    [[ -z ${NEO4J_PORT:-} || $running == "$PORT" ]] || say "already running on port $running (not NEO4J_PORT=$PORT)"
    PORT=$running
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Serialises start/stop of this checkout (released when the script exits).
lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/lock"
    flock 9
}

ready() { grep -qF "neo4j ready bolt://127.0.0.1:$PORT" "$LOG" 2>/dev/null && port_open; }

# Copies org.neo4j:neo4j and neo4j-bolt with their dependencies from Maven Central into lib/;
# fetched again when pom.xml changes.
fetch_jars() {
    local stamp t0=$SECONDS
    stamp=$(cksum <"$HERE/pom.xml")
    [[ -f $LIB/.fetched && $(<"$LIB/.fetched") == "$stamp" ]] && return 0
    command -v mvn >/dev/null || { say "mvn not found (apt-get install maven)"; exit 1; }
    say "fetching the Neo4j jars from Maven Central into $LIB"
    rm -rf "$LIB" "$LIB.tmp"
    if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$LIB.tmp" >"$STATE/fetch.log" 2>&1; then
        tail -n 40 "$STATE/fetch.log" >&2
        say "fetching the jars failed (log: $STATE/fetch.log)"
        exit 1
    fi
    echo "$stamp" >"$LIB.tmp/.fetched"
    mv "$LIB.tmp" "$LIB"
    say "fetched $(find "$LIB" -name "*.jar" | wc -l) jars in $((SECONDS - t0))s"
}

fail_start() {
    say "$1; last lines of $LOG:"
    tail -n 40 "$LOG" >&2 || true
    exit 1
}

wait_ready() {
    local pid=$1 deadline=$((SECONDS + TIMEOUT))
    until ready; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE" "$STATE/port" "$STATE/url"
            fail_start "the server exited while starting"
        fi
        if ((SECONDS >= deadline)); then
            stop >/dev/null 2>&1 || true
            fail_start "Bolt did not answer on 127.0.0.1:$PORT within ${TIMEOUT}s"
        fi
        sleep 0.5
    done
}

start() {
    local pid
    lock
    pid=$(running_pid)
    if [[ -n $pid ]]; then
        use_running_port
        wait_ready "$pid"
        cat "$STATE/url"
        return 0
    fi
    if port_open; then
        say "port $PORT on 127.0.0.1 is taken by another process (set NEO4J_PORT)"
        exit 1
    fi
    if [[ -n $PASSWORD && ${#PASSWORD} -lt 8 ]]; then
        say "NEO4J_PASSWORD must have at least 8 characters (or be empty to disable auth)"
        exit 1
    fi
    fetch_jars
    [[ -f $LOG ]] && mv -f "$LOG" "$LOG.prev"
    local t0=$SECONDS
    say "starting Neo4j on 127.0.0.1:$PORT (log: $LOG)"
    # setsid: its own session, so a Ctrl-C in the calling shell does not reach it.
    NEO4J_PASSWORD=$PASSWORD setsid "$JAVA" "-Xms$HEAP" "-Xmx$HEAP" -XX:+UseParallelGC \
        -XX:-OmitStackTraceInFastThrow -Dio.netty.tryReflectionSetAccessible=true \
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
        --add-opens=java.base/java.lang=ALL-UNNAMED \
        -cp "$LIB/*" "$HERE/Neo4jLauncher.java" "$DATA" "$PORT" </dev/null >"$LOG" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$PORT" >"$STATE/port"
    (umask 077 && url >"$STATE/url")
    wait_ready "$pid"
    say "ready in $((SECONDS - t0))s (pid $pid)"
    url
}

stop() {
    local pid i
    lock
    pid=$(running_pid)
    if [[ -z $pid ]]; then
        rm -f "$PIDFILE" "$STATE/port" "$STATE/url"
        say "not running"
        return 0
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 600; i++)); do  # 60 s for a clean shutdown, then force it
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "no clean exit within 60s; killing pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PIDFILE" "$STATE/port" "$STATE/url"
    say "stopped"
}

status() {
    local pid
    pid=$(running_pid)
    [[ -n $pid ]] && use_running_port
    if [[ -n $pid ]] && ready; then
        say "running (pid $pid)"
        cat "$STATE/url"
    elif [[ -n $pid ]]; then
        say "starting (pid $pid)"
        exit 3
    else
        say "stopped"
        exit 3
    fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
