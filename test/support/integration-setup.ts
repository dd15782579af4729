import { execFileSync } from 'node:child_process'

// Integration tests run against the real local Kafka, ClickHouse and Alertmanager. up.sh starts
// whatever is not running yet (and reuses what is), so `npm test` works on a machine where only
// `npm ci` was run. Tests then create their own topics and databases with random names.
export default function setup(): void {
  execFileSync('bash', ['infra/local/up.sh'], { stdio: 'inherit' })
  // Some tests produce with kcat, a librdkafka client (see test/support/kcat.ts).
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' })
  } catch {
    throw new Error("kcat is missing: install Debian's kcat package (apt-get install kcat)")
  }
}
