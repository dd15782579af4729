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

# The analyst's password: CLICKHOUSE_READONLY_PASSWORD, else one generated once into the file the
# CLI reads by default (CLICKHOUSE_READONLY_PASSWORD_FILE).
analyst_password() {
  if [ -n "${CLICKHOUSE_READONLY_PASSWORD:-}" ]; then printf '%s' "$CLICKHOUSE_READONLY_PASSWORD"; return; fi
  local file=$CH_DIR/analyst.password
  if [ ! -s "$file" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file")
  fi
  head -n1 "$file"
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
  <!-- Written only for queries sent with log_queries=1 (the bench's monitors: query-cpu.ts). -->
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds>
  </query_log>
  <!-- Parts written, merged and removed: the bench reports merges from it (query-cpu.ts). -->
  <part_log>
    <database>system</database>
    <table>part_log</table>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds>
  </part_log>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
CONF
  # default: the services' writer (no password, loopback only).
  # analyst: readonly=1, so it can neither write, nor change a setting (its limits included), nor call
  # table functions (url, remote, file); only its database and system. Its own password.
  local analyst_sha
  analyst_sha=$(printf '%s' "$(analyst_password)" | sha256sum | cut -d' ' -f1)
  cat > "$CH_DIR/users.xml" <<CONF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_execution_time>60</max_execution_time>
      <output_format_json_quote_64bit_integers>0</output_format_json_quote_64bit_integers>
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
      <password_sha256_hex>$analyst_sha</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>readonly</profile>
      <quota>default</quota>
      <allow_databases><database>$CLICKHOUSE_DATABASE</database></allow_databases>
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
