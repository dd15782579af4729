import { describe, expect, it } from 'vitest'
import { decide } from '../../../services/policy/core/decide.ts'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import { PolicyStore } from '../../../services/policy/store/policy-store.ts'
import { CP, H, context, policy, trigger } from './fixtures.ts'

// The row a decision is stored as must fit its columns: retry_at is UInt64, and ClickHouse refuses
// "1764342000000.75" for it (the whole insert fails, and the step is retried forever).
describe('decision rows', () => {
  it('round a retry time estimated from label-delay quantiles', () => {
    // A hold (the latest windows lack labels), given a fractional retry time.
    const result = decide(context({}, [trigger({ last_seen: CP + 5 * H })]), policy())
    const fractional = { ...result, deciding: { ...result.deciding!, retry_at: CP + 2.75 } }
    const row = new PolicyStore({} as ClickHouse).decisionRow({ result: fractional, trigger: trigger(), facts: context(), policy_fingerprint: 'f' })
    expect(row.retry_at).toBe(CP + 3)
    expect(Number.isInteger(row.decided_at)).toBe(true)
  })
})
