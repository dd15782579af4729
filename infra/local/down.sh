#!/usr/bin/env bash
# Stops what infra/local/up.sh started (services it found already running are left alone).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/schema-registry.sh" stop
bash "$here/alertmanager.sh" stop 2>/dev/null || true
bash "$here/clickhouse.sh" stop
bash "$here/kafka.sh" stop
