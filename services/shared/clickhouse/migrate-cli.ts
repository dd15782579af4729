import { loadEnv } from '../config/env.ts'
import { ClickHouse } from './client.ts'
import { migrate } from './migrate.ts'

const env = loadEnv()
const ch = new ClickHouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD })
try {
  const { applied, skipped } = await migrate(ch)
  console.log(`migrations on ${env.CLICKHOUSE_DATABASE}: applied ${applied.length} (${applied.join(', ') || 'none'}), already there ${skipped.length}`)
} finally {
  await ch.close()
}
