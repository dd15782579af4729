import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { formatIssues } from './model-config.ts'

// Process settings from the environment, parsed once at start; docker-compose.yml and
// infra/local/env.sh use the same names and defaults.
const envSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    ),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081'),
  CLICKHOUSE_URL: z.url().default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('driftgate'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** Read-only user (readonly=1) the CLI reads with; the CLI refuses a user that can write. */
  CLICKHOUSE_READONLY_USER: z.string().default('analyst'),
  CLICKHOUSE_READONLY_PASSWORD: z.string().optional(),
  /** Read when CLICKHOUSE_READONLY_PASSWORD is not set; infra/local writes the local stack's there. */
  CLICKHOUSE_READONLY_PASSWORD_FILE: z.string().default('.local/clickhouse/analyst.password'),
  TOPIC_PREFIX: z.string().default(''),
  EVENT_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  DRIFTGATE_CONFIG: z.string().default('config/driftgate.yaml'),
  ALERTMANAGER_URL: z.url().optional(),
  ALERT_WEBHOOK_URL: z.url().optional(),
  ALERT_WEBHOOK_TOKEN: z.string().optional(),
  /** full: the whole trigger (summary, evidence, segment, SQL); ids: ids, times and a lookup query only. */
  ALERT_WEBHOOK_DETAIL: z.enum(['full', 'ids']).default('full'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Interface /metrics, /_health and /_ready listen on (loopback unless exposed on purpose, e.g. in a container). */
  OPS_HOST: z.string().default('127.0.0.1'),
  /** The policy service's /metrics, /_health and /_ready (the monitor's are on METRICS_PORT). */
  POLICY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  POLICY_API_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  /** Approvers and their token hashes, `name:sha256hex` separated by commas (or in a file, one per line). */
  POLICY_API_TOKENS: z.string().optional(),
  POLICY_API_TOKENS_FILE: z.string().optional(),
  /** A single approver's plain token (at least 32 bytes), recorded as POLICY_API_TOKEN_OWNER. */
  POLICY_API_TOKEN: z.string().optional(),
  POLICY_API_TOKEN_OWNER: z.string().default('approver'),
  /** Interface the approval API listens on (loopback unless exposed on purpose). */
  POLICY_API_HOST: z.string().default('127.0.0.1'),
  POLICY_GROUP_ID: z.string().default('driftgate-policy'),
  /** The web console (driftgate console): its port and interface (loopback unless exposed on purpose). */
  CONSOLE_PORT: z.coerce.number().int().min(0).max(65535).default(8088),
  CONSOLE_HOST: z.string().default('127.0.0.1'),
  /** Where the console sends approvals; default: the approval API on this host's POLICY_API_PORT. */
  POLICY_API_URL: z.url().optional(),
  /** Monitor consumer group, batch size (records) and linger (ms). */
  MONITOR_GROUP_ID: z.string().default('driftgate-monitor'),
  MONITOR_BATCH_SIZE: z.coerce.number().int().min(1).default(10_000),
  MONITOR_LINGER_MS: z.coerce.number().int().min(0).default(200),
  /** How long windows touched by a batch wait for more batches before they are recomputed. */
  MONITOR_ROUND_DELAY_MS: z.coerce.number().int().min(0).default(500),
  /** Shortest time between two recomputations of a window that cannot close now (the open
   *  window, old windows receiving labels), ms; windows longer than a day wait 1/1440 of their
   *  size. 0 recomputes in every round. Offsets wait for it, so a crash loses nothing. */
  MONITOR_REFRESH_MS: z.coerce.number().int().min(0).default(10_000),
  /** The same while a backlog is read (a batch stopped short of the end of a partition), ms: most
   *  windows then close soon and are computed once; committed offsets trail by up to this long.
   *  0: no backlog rule (MONITOR_REFRESH_MS applies). */
  MONITOR_BACKLOG_REFRESH_MS: z.coerce.number().int().min(0).default(60_000),
  /** With several instances, how much longer than the owner's refresh interval an instance waits
   *  for the owner's computation of a window it marked before computing it itself, ms. */
  MONITOR_OWNER_WAIT_MS: z.coerce.number().int().min(0).default(5_000),
  /** Longest a ClickHouse request of the monitor may take, ms (a day-long window of a busy model
   *  is aggregated in one query). */
  MONITOR_CLICKHOUSE_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(300_000),
  /** A model's open windows close by processing time after this long without a new prediction
   *  of it (every partition read to its end; counted from the window's end plus allowed_lateness), ms; 0: never. */
  MONITOR_IDLE_CLOSE_MS: z.coerce.number().int().min(0).default(600_000),
  /** Data-time step windows are computed and judged in, ms (record timestamps): each step as of
   *  its end, in order, once every partition is read past it, so the same events give the same
   *  alerts and decisions however far behind the monitor is. 0: windows are computed as of
   *  whatever is stored (fresher, but dependent on timing). */
  MONITOR_STEP_MS: z.coerce.number().int().min(0).default(0),
  /** How often join health (orphan labels) is recomputed, ms; 0 turns it off. */
  MONITOR_LABEL_HEALTH_MS: z.coerce.number().int().min(0).default(30_000),
  /** Predictions kept in memory per partition for the label join. */
  MONITOR_INDEX_PER_PARTITION: z.coerce.number().int().min(1).default(100_000),
  /** Largest record value the monitor decodes, bytes; larger ones are dead-lettered (record_too_large). */
  MONITOR_MAX_RECORD_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(1024 * 1024),
  /** A consumer (monitor or policy) is unhealthy once a partition with lag has not committed for this long, ms. */
  CONSUMER_STALL_MS: z.coerce.number().int().min(1_000).default(120_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type Env = z.infer<typeof envSchema>

export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source)
  if (!result.success) throw new Error(`invalid environment:\n${formatIssues(result.error)}`)
  return result.data
}

/** The read-only user's password: CLICKHOUSE_READONLY_PASSWORD, else the file's first line, else none. */
export function readOnlyPassword(env: Env): string {
  if (env.CLICKHOUSE_READONLY_PASSWORD !== undefined) return env.CLICKHOUSE_READONLY_PASSWORD
  const file = env.CLICKHOUSE_READONLY_PASSWORD_FILE
  return existsSync(file) ? (readFileSync(file, 'utf8').split('\n')[0] ?? '').trim() : ''
}
