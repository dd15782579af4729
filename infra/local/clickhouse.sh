#!/usr/bin/env bash
# ClickHouse server from Debian's packages, run with a config and data folder owned by the project.
# Usage: clickhouse.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/env.sh"

CH_DIR=$DRIFTGATE_STATE_DIR/clickhouse
PID_FILE=$CH_DIR/clickhouse.pid
LOG_FILE=$CH_DIR/clickhouse.out

ping_http() { curl -fsS "http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT/ping" >/dev/null 2>&1; }

install_server() {
  command -v clickhouse-server >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "clickhouse-server is missing; install it with: sudo apt-get install clickhouse-server"
  log "installing clickhouse-server from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server >/dev/null; } \
    || die "apt-get could not install clickhouse-server"
}

write_config() {
  mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas"
  # The config is written for the 18.16 server and is accepted by current servers too.
  cat > "$CH_DIR/config.xml" <<CONF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$CH_DIR/clickhouse-server.log</log>
    <errorlog>$CH_DIR/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <listen_host>$CLICKHOUSE_HOST</listen_host>
  <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
  <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <mark_cache_size>1073741824</mark_cache_size>
  <path>$CH_DIR/data/</path>
  <tmp_path>$CH_DIR/tmp/</tmp_path>
  <user_files_path>$CH_DIR/user_files/</user_files_path>
  <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
  <users_config>$CH_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
CONF
  # default: the services' writer (no password, loopback only).
  # analyst: read-only (readonly=2 still lets the HTTP client set per-query settings), for the CLI's sql command.
  cat > "$CH_DIR/users.xml" <<CONF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>2</readonly>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_execution_time>60</max_execution_time>
    </readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <analyst>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>readonly</profile>
      <quota>default</quota>
    </analyst>
  </users>
  <quotas>
    <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
  </quotas>
</yandex>
CONF
}

start() {
  if ping_http; then log "ClickHouse already answers on $CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT, reusing it"; return 0; fi
  command -v curl >/dev/null || die "curl is required (apt-get install curl)"
  install_server
  write_config
  log "starting ClickHouse on $CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT (data: $CH_DIR/data)"
  # cd first: `cd … && cmd &` would background a subshell, and $! would be its pid, not the server's.
  cd "$CH_DIR"
  nohup clickhouse-server --config-file="$CH_DIR/config.xml" >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  cd - >/dev/null
  wait_for "ClickHouse on $CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT" 60 ping_http \
    || { tail -30 "$LOG_FILE" "$CH_DIR/clickhouse-server.err.log" >&2 2>/dev/null; die "ClickHouse did not start in 60 s"; }
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PID_FILE" ClickHouse ;;
  status) ping_http && echo "ClickHouse: up on $CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT" || { echo "ClickHouse: down"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
