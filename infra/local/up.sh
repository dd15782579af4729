#!/usr/bin/env bash
# Brings up everything driftgate needs on 127.0.0.1 (reusing what already runs): Kafka, ClickHouse,
# Alertmanager and the schema registry double; then creates topics and applies migrations.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"

bash "$here/kafka.sh" start
bash "$here/clickhouse.sh" start
[ -f "$here/alertmanager.sh" ] && bash "$here/alertmanager.sh" start
bash "$here/schema-registry.sh" start

cd "$DRIFTGATE_ROOT"
node_modules/.bin/tsx services/shared/kafka/topics-cli.ts
node_modules/.bin/tsx services/shared/clickhouse/migrate-cli.ts
log "ready: Kafka $KAFKA_HOST:$KAFKA_PORT, ClickHouse http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT, Alertmanager http://127.0.0.1:$ALERTMANAGER_PORT, schema registry http://127.0.0.1:$SCHEMA_REGISTRY_PORT"
