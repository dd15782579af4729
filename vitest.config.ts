import { defineConfig } from 'vitest/config'
import { CHDB_ENGINE_MAJOR, CHDB_FRONT_PORT } from './test/support/chdb-port.ts'

/** Integration files whose subject is ClickHouse SQL: they run on both engines. The others test
 *  Kafka timing, process crashes (the server stopped) or the whole scenario, and run once. */
const CLICKHOUSE_FACING = [
  'foundation',
  'window-store-tasks',
  'window-history',
  'sub-window-features',
  'window-owner',
  'window-requests',
  'window-failures',
  'open-windows',
  'console-queries',
  'label-health',
  'join-health-recheck',
  'label-lookup',
  'monitor-metrics',
  'detectors-e2e',
  'alertmanager',
  'dead-letters-cli',
  'policy',
  'policy-approval',
  'policy-investigation',
  'retrain-outcomes',
  'policy-restart',
  'fuzz-rows',
  'window-rebuild',
  'category-overflow',
  'model-progress',
  'console-browser',
].map((f) => `test/integration/${f}.test.ts`)

// Unit tests are pure (no servers); integration tests talk to a real Kafka, ClickHouse and
// Alertmanager, containers when a Docker engine answers, else the local processes of
// infra/local/up.sh (Debian's 18.16 server), chosen and exported to the tests by
// test/support/integration-setup.ts; they run one file at a time. integration-current runs the
// ClickHouse-facing ones again on the current engine (chDB).
export default defineConfig({
  test: {
    // Integration files share one broker and server; running files one at a time keeps them independent.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/integration-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration-current',
          include: CLICKHOUSE_FACING,
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/integration-setup.ts', 'test/support/chdb-setup.ts'],
          env: { CLICKHOUSE_URL: `http://127.0.0.1:${CHDB_FRONT_PORT}`, CLICKHOUSE_VERSION_PREFIX: CHDB_ENGINE_MAJOR },
        },
      },
    ],
  },
})
