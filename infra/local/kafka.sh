#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker + controller) on 127.0.0.1, from Maven Central jars.
# Usage: kafka.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/env.sh"

LIB_DIR=$DRIFTGATE_CACHE_DIR/kafka-$KAFKA_VERSION/libs
DATA_DIR=$DRIFTGATE_STATE_DIR/kafka/data
CONF=$DRIFTGATE_STATE_DIR/kafka/server.properties
PID_FILE=$DRIFTGATE_STATE_DIR/kafka/kafka.pid
LOG_FILE=$DRIFTGATE_STATE_DIR/kafka/kafka.out

fetch_jars() {
  [ -f "$LIB_DIR/.complete" ] && return 0
  command -v java >/dev/null || die "Java is required for Kafka (install a JDK 17, e.g. apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "Maven is required to fetch Kafka's jars (apt-get install maven)"
  log "fetching Kafka $KAFKA_VERSION and its dependencies from Maven Central into $LIB_DIR"
  mkdir -p "$LIB_DIR"
  mvn -q -B -f "$(dirname "$0")/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB_DIR" \
    || die "mvn could not fetch Kafka $KAFKA_VERSION (see the output above)"
  touch "$LIB_DIR/.complete"
}

write_config() {
  mkdir -p "$DATA_DIR"
  cat > "$CONF" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# Tests and the main job replay traffic stamped in the past: time-based retention would
# delete it at once. Size-based retention bounds the disk instead.
log.retention.ms=-1
log.retention.bytes=2147483648
CONF
  cat > "$DRIFTGATE_STATE_DIR/kafka/log4j.properties" <<CONF
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
CONF
}

java_cmd() {
  java -Xmx${KAFKA_HEAP_MB}m -Xms256m -XX:+UseG1GC \
    -Dlog4j.configuration="file:$DRIFTGATE_STATE_DIR/kafka/log4j.properties" \
    -cp "$LIB_DIR/*" "$@"
}

start() {
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then log "Kafka already answers on $KAFKA_HOST:$KAFKA_PORT, reusing it"; return 0; fi
  fetch_jars
  write_config
  if [ ! -f "$DATA_DIR/meta.properties" ]; then
    log "formatting KRaft storage in $DATA_DIR"
    java_cmd kafka.tools.StorageTool format -t "$(java_cmd kafka.tools.StorageTool random-uuid)" -c "$CONF" >/dev/null \
      || die "could not format Kafka storage in $DATA_DIR"
  fi
  log "starting Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (log: $LOG_FILE)"
  nohup java -Xmx${KAFKA_HEAP_MB}m -Xms256m -XX:+UseG1GC \
    -Dlog4j.configuration="file:$DRIFTGATE_STATE_DIR/kafka/log4j.properties" \
    -cp "$LIB_DIR/*" kafka.Kafka "$CONF" >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  wait_for "Kafka on $KAFKA_HOST:$KAFKA_PORT" 90 port_open "$KAFKA_HOST" "$KAFKA_PORT" \
    || { tail -30 "$LOG_FILE" >&2; die "Kafka did not start in 90 s (log: $LOG_FILE)"; }
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PID_FILE" Kafka ;;
  status) port_open "$KAFKA_HOST" "$KAFKA_PORT" && echo "Kafka: up on $KAFKA_HOST:$KAFKA_PORT" || { echo "Kafka: down"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
