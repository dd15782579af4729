#!/usr/bin/env bash
# Local stand-in for Confluent Schema Registry: the REST-compatible double from test/support,
# run as a process on 127.0.0.1. (docker-compose.yml runs the real Confluent registry.)
# Usage: schema-registry.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/env.sh"

DIR=$DRIFTGATE_STATE_DIR/schema-registry
PID_FILE=$DIR/registry.pid
LOG_FILE=$DIR/registry.out

ping_registry() { curl -fsS "http://127.0.0.1:$SCHEMA_REGISTRY_PORT/subjects" >/dev/null 2>&1; }

start() {
  if ping_registry; then log "schema registry already answers on 127.0.0.1:$SCHEMA_REGISTRY_PORT, reusing it"; return 0; fi
  [ -x "$DRIFTGATE_ROOT/node_modules/.bin/tsx" ] || die "node_modules is missing: run npm ci first"
  mkdir -p "$DIR"
  log "starting the schema registry double on 127.0.0.1:$SCHEMA_REGISTRY_PORT"
  cd "$DRIFTGATE_ROOT"
  nohup node_modules/.bin/tsx test/support/schema-registry-double.ts "$SCHEMA_REGISTRY_PORT" >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  cd - >/dev/null
  wait_for "schema registry on 127.0.0.1:$SCHEMA_REGISTRY_PORT" 30 ping_registry \
    || { tail -20 "$LOG_FILE" >&2; die "the schema registry double did not start"; }
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PID_FILE" "schema registry" ;;
  status) ping_registry && echo "schema registry: up on 127.0.0.1:$SCHEMA_REGISTRY_PORT" || { echo "schema registry: down"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
