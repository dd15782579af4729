import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { CLICKHOUSE_URL } from './harness.ts'

const run = promisify(execFile)

/** `driftgate <args>` as a user runs it, with its exit code and both outputs. */
export function driftgate(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return run(process.execPath, ['--import', 'tsx', 'services/cli/driftgate-cli.ts', ...args], { env: { ...process.env, CLICKHOUSE_URL, ...extra } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  )
}
