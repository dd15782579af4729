import { Command } from 'commander'
import { ClickHouse } from '../../shared/clickhouse/client.ts'
import { loadEnv } from '../../shared/config/env.ts'
import { loadDriftgateConfig } from '../../shared/config/model-config.ts'
import { createContextLoader } from '../store/context-loader.ts'
import { loadPolicies } from '../core/policy-config.ts'
import { PolicyStore } from '../store/policy-store.ts'
import { formatReport, replayPolicy } from './replay.ts'

// Dry run of a policy config over the stored trigger history: read-only, prints what the
// policy would have decided next to what the live service decided.
//   tsx services/policy/replay-cli.ts --config new-policy.yaml [--model credit-default] [--source monitor] [--json]
const program = new Command()
  .option('--config <path>', 'driftgate config whose policy blocks are evaluated (default: DRIFTGATE_CONFIG)')
  .option('--model <id...>', 'only these models')
  .option('--source <source>', "'policy' (triggers the policy consumed) or 'monitor' (alert_events)", 'policy')
  .option('--json', 'print the report as JSON')
  .parse()
const opts = program.opts<{ config?: string; model?: string[]; source: 'policy' | 'monitor'; json?: boolean }>()

const env = loadEnv()
const policies = loadPolicies(loadDriftgateConfig(opts.config ?? env.DRIFTGATE_CONFIG))
const ch = new ClickHouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD })
try {
  const report = await replayPolicy({ store: new PolicyStore(ch), loader: createContextLoader(ch), policies, source: opts.source, models: opts.model })
  console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report))
} finally {
  await ch.close()
}
