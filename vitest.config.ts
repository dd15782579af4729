import { defineConfig } from 'vitest/config'

// Two projects: unit tests are pure (no servers); integration tests talk to the real local Kafka,
// ClickHouse and Alertmanager started by infra/local/up.sh, so they run one file at a time.
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
    ],
  },
})
