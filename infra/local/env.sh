# Shared defaults for the local infrastructure scripts. Every value can be overridden from the
# environment; docker-compose.yml uses the same ports and variable names.
DRIFTGATE_ROOT=${DRIFTGATE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DRIFTGATE_STATE_DIR=${DRIFTGATE_STATE_DIR:-$DRIFTGATE_ROOT/.local}
DRIFTGATE_CACHE_DIR=${DRIFTGATE_CACHE_DIR:-$HOME/.cache/driftgate}

KAFKA_HOST=${KAFKA_HOST:-127.0.0.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-29093}
KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
KAFKA_HEAP_MB=${KAFKA_HEAP_MB:-1024}

CLICKHOUSE_HOST=${CLICKHOUSE_HOST:-127.0.0.1}
CLICKHOUSE_HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-8123}
CLICKHOUSE_TCP_PORT=${CLICKHOUSE_TCP_PORT:-9000}
CLICKHOUSE_DATABASE=${CLICKHOUSE_DATABASE:-driftgate}

ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
SCHEMA_REGISTRY_PORT=${SCHEMA_REGISTRY_PORT:-8081}

mkdir -p "$DRIFTGATE_STATE_DIR" "$DRIFTGATE_CACHE_DIR"

log() { printf '[driftgate infra] %s\n' "$*" >&2; }
die() { printf '[driftgate infra] error: %s\n' "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or time runs out.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.5
  done
  log "$what is up"
}

# stop_pidfile FILE NAME: TERM, wait up to 30 s, then KILL.
stop_pidfile() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || { log "$name: not started by these scripts"; return 0; }
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30 s, killing"; kill -9 "$pid" 2>/dev/null || true; fi
    log "$name stopped"
  fi
  rm -f "$file"
}
