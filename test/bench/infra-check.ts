import type { Kafka } from 'kafkajs'

async function up(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check()
    return true
  } catch {
    return false
  }
}

/**
 * Waits until Kafka, ClickHouse and the schema registry answer (bash infra/local/up.sh starts
 * them). Other test runs on the same machine stop ClickHouse in their outage tests; measuring
 * while it is down would measure the monitor's retry loop.
 */
export async function waitForInfra(kafka: Kafka, o: { clickhouseUrl: string; registryUrl: string; timeoutMs: number }): Promise<void> {
  const checks: [string, () => Promise<unknown>][] = [
    [
      'ClickHouse',
      async () => {
        const r = await fetch(`${o.clickhouseUrl}/ping`)
        if (!r.ok) throw new Error(String(r.status))
      },
    ],
    [
      'schema registry',
      async () => {
        const r = await fetch(`${o.registryUrl}/subjects`)
        if (!r.ok) throw new Error(String(r.status))
      },
    ],
    [
      'Kafka',
      async () => {
        const admin = kafka.admin()
        await admin.connect()
        await admin.listTopics().finally(() => admin.disconnect())
      },
    ],
  ]
  const deadline = Date.now() + o.timeoutMs
  for (const [name, check] of checks) {
    let told = false
    while (!(await up(check))) {
      if (Date.now() > deadline) throw new Error(`${name} is not reachable; start the local infrastructure with: bash infra/local/up.sh`)
      if (!told) console.log(`waiting for ${name}...`)
      told = true
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  }
}

/** Retries a call for a minute: other test runs on the machine stop ClickHouse for a while. */
export async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (attempt >= 30) throw error
      await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  }
}
