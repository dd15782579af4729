#!/usr/bin/env bash
# Prometheus Alertmanager from Debian's packages, run with a config and data folder owned by the
# project, on 127.0.0.1 without clustering (no gossip port).
# Usage: alertmanager.sh start|stop|status
# ALERTMANAGER_WEBHOOK_URL: when set, alerts are also sent (firing and resolved) to that URL;
# otherwise the default receiver has no integrations and alerts are only visible in the API.
set -euo pipefail
source "$(dirname "$0")/env.sh"

ALERTMANAGER_HOST=${ALERTMANAGER_HOST:-127.0.0.1}
ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
ALERTMANAGER_WEBHOOK_URL=${ALERTMANAGER_WEBHOOK_URL:-}

AM_DIR=$DRIFTGATE_STATE_DIR/alertmanager
CONF=$AM_DIR/alertmanager.yml
PID_FILE=$AM_DIR/alertmanager.pid
LOG_FILE=$AM_DIR/alertmanager.out

ping_ready() { curl -fsS "http://$ALERTMANAGER_HOST:$ALERTMANAGER_PORT/-/ready" >/dev/null 2>&1; }

alertmanager_bin() {
  command -v prometheus-alertmanager 2>/dev/null || command -v alertmanager 2>/dev/null || return 1
}

install_alertmanager() {
  alertmanager_bin >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "prometheus-alertmanager is missing; install it with: sudo apt-get install prometheus-alertmanager"
  log "installing prometheus-alertmanager from Debian's packages"
  # The package's own service would take port 9093 with the system config: a temporary
  # policy-rc.d (Debian's mechanism, honoured by invoke-rc.d and deb-systemd-invoke) keeps apt
  # from starting it. An existing policy-rc.d is left as it is.
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-alertmanager >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-alertmanager >/dev/null; } \
    || die "apt-get could not install prometheus-alertmanager"
}

write_config() {
  mkdir -p "$AM_DIR/data"
  # Same routing as infra/docker/alertmanager.yml. group_wait is short so that tests and on-call
  # see a new alert within seconds; repeat_interval re-sends a still-firing group every 4 hours.
  {
    cat <<CONF
route:
  receiver: driftgate
  group_by: [alertname, model_id]
  group_wait: 1s
  group_interval: 10s
  repeat_interval: 4h
receivers:
  - name: driftgate
CONF
    if [ -n "$ALERTMANAGER_WEBHOOK_URL" ]; then
      cat <<CONF
    webhook_configs:
      - url: '$ALERTMANAGER_WEBHOOK_URL'
        send_resolved: true
CONF
    fi
  } > "$CONF"
}

start() {
  if ping_ready; then log "Alertmanager already answers on $ALERTMANAGER_HOST:$ALERTMANAGER_PORT, reusing it"; return 0; fi
  command -v curl >/dev/null || die "curl is required (apt-get install curl)"
  install_alertmanager
  write_config
  local bin
  bin=$(alertmanager_bin) || die "prometheus-alertmanager is not on PATH"
  log "starting Alertmanager on $ALERTMANAGER_HOST:$ALERTMANAGER_PORT (data: $AM_DIR/data, log: $LOG_FILE)"
  # A simple command in the background, so that $! is the server itself (not a shell waiting for it).
  nohup "$bin" --config.file="$CONF" --storage.path="$AM_DIR/data" \
    --web.listen-address="$ALERTMANAGER_HOST:$ALERTMANAGER_PORT" --cluster.listen-address= \
    --log.level=warn </dev/null >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  wait_for "Alertmanager on $ALERTMANAGER_HOST:$ALERTMANAGER_PORT" 30 ping_ready \
    || { tail -30 "$LOG_FILE" >&2; die "Alertmanager did not start in 30 s (log: $LOG_FILE)"; }
}

stop() {
  # When the pid file names a shell that waits for the server (a start run as a subshell), stop
  # the server itself: the shell then exits on its own.
  if [ -f "$PID_FILE" ]; then
    local child
    child=$(pgrep -P "$(cat "$PID_FILE")" 2>/dev/null | head -1 || true)
    if [ -n "$child" ]; then echo "$child" > "$PID_FILE"; fi
  fi
  stop_pidfile "$PID_FILE" Alertmanager
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ping_ready && echo "Alertmanager: up on $ALERTMANAGER_HOST:$ALERTMANAGER_PORT" || { echo "Alertmanager: down"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
