import { loadEnv, type Env } from '../../shared/config/env.ts'

/** The monitor's process settings, resolved from the environment once (defaults: env.ts). */
export interface MonitorSettings {
  groupId: string
  /** Records per batch and how long a batch waits to fill, ms. */
  maxBatchSize: number
  lingerMs: number
  /** How long marked windows wait for more batches before a recomputation round, ms. */
  roundDelayMs: number
  /** Shortest time between two recomputations of a window that cannot close now, ms (0: every round). */
  refreshMs: number
  /** The same while a backlog is read, ms (0: no backlog rule). */
  backlogRefreshMs: number
  /** How much longer than the owner's refresh interval a window of another instance's model is
   *  waited for before this instance computes it, ms (window-owner.ts). */
  ownerWaitMs: number
  /** How often join health is recounted, ms (0: never). */
  labelHealthIntervalMs: number
  /** Predictions kept in memory per partition for the label join. */
  indexPerPartition: number
  /** Windows close by processing time after this long without new predictions of their model,
   *  every partition read to its end (ms after the window's end plus allowed_lateness; 0: never). */
  idleCloseMs: number
  /** Unhealthy once a partition with lag has not committed for this long, ms. */
  stallMs: number
  /** Data-time step windows are computed as of, ms (0: as of whatever is stored). */
  stepMs: number
}

export function monitorSettings(env: Env): MonitorSettings {
  return {
    groupId: env.MONITOR_GROUP_ID,
    maxBatchSize: env.MONITOR_BATCH_SIZE,
    lingerMs: env.MONITOR_LINGER_MS,
    roundDelayMs: env.MONITOR_ROUND_DELAY_MS,
    refreshMs: env.MONITOR_REFRESH_MS,
    backlogRefreshMs: env.MONITOR_BACKLOG_REFRESH_MS,
    ownerWaitMs: env.MONITOR_OWNER_WAIT_MS,
    labelHealthIntervalMs: env.MONITOR_LABEL_HEALTH_MS,
    indexPerPartition: env.MONITOR_INDEX_PER_PARTITION,
    idleCloseMs: env.MONITOR_IDLE_CLOSE_MS,
    stallMs: env.CONSUMER_STALL_MS,
    stepMs: env.MONITOR_STEP_MS,
  }
}

/** The documented defaults with some replaced (embedding and tests). */
export const defaultMonitorSettings = (overrides: Partial<MonitorSettings> = {}): MonitorSettings => ({ ...monitorSettings(loadEnv({})), ...overrides })
