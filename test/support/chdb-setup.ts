import { execFileSync, spawn } from 'node:child_process'
import { CHDB_FRONT_PORT } from './chdb-port.ts'

// Starts the current ClickHouse engine (chDB behind test/support/chdb-front.ts) for the
// integration-current project, in a process of its own so that an engine crash fails the tests
// instead of vitest; stopped when the project is done.
export default async function setup(): Promise<() => Promise<void>> {
  const chdbDir = execFileSync('bash', ['infra/local/chdb.sh', 'install'], { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim()
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/chdb-front.ts', chdbDir, String(CHDB_FRONT_PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TZ: 'UTC' },
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) {
        console.log(out.trim())
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`chdb-front exited with ${code} before listening`)))
  })
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}
