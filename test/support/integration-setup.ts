import { execFileSync } from 'node:child_process'

// Integration tests run against the real local Kafka, ClickHouse and Alertmanager. up.sh starts
// whatever is not running yet (and reuses what is), so `npm test` works on a machine where only
// `npm ci` was run. Tests then create their own topics and databases with random names.
export default function setup(): void {
  execFileSync('bash', ['infra/local/up.sh'], { stdio: 'inherit' })
}
