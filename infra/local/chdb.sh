#!/usr/bin/env bash
# The current ClickHouse engine in-process (chDB, npm `chdb`), installed into the cache rather
# than the project's dependencies: its binaries are per platform and large (about 540 MB), and
# only the integration-current tests use it. Prints the folder holding node_modules/chdb.
# Usage: chdb.sh install
set -euo pipefail
source "$(dirname "$0")/env.sh"

CHDB_VERSION=${CHDB_VERSION:-3.4.0}
CHDB_DIR=$DRIFTGATE_CACHE_DIR/chdb-$CHDB_VERSION

case "${1:-install}" in
  install)
    if [ ! -f "$CHDB_DIR/node_modules/chdb/package.json" ] || ! ls "$CHDB_DIR"/node_modules/@chdb/lib-*/libchdb.so >/dev/null 2>&1; then
      log "installing chdb $CHDB_VERSION into $CHDB_DIR"
      mkdir -p "$CHDB_DIR"
      npm install --prefix "$CHDB_DIR" --no-save --no-package-lock --no-audit --no-fund "chdb@$CHDB_VERSION" >&2
    fi
    echo "$CHDB_DIR"
    ;;
  *) die "usage: chdb.sh install" ;;
esac
