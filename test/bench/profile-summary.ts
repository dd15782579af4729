import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'

// `npx tsx test/bench/profile-summary.ts <dir-or-file.cpuprofile> [top]`: self time of a V8 CPU
// profile (written by a monitor child when the bench runs with BENCH_CPU_PROF=<dir>) grouped by
// function and by source file, to see where the monitor's CPU goes.

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('node_modules/')
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length)
  return path.startsWith('/') ? relative(process.cwd(), path) : path || '(native)'
}

function summarize(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const [id, us] of self) {
    const node = byId.get(id)!
    const { functionName, url, lineNumber } = node.callFrame
    const where = shortUrl(url)
    byFunction.set(
      `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`,
      (byFunction.get(`${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`) ?? 0) + us,
    )
    const pkg =
      where.includes('/') && !where.startsWith('services') && !where.startsWith('test')
        ? where
            .split('/')
            .slice(0, where.startsWith('@') ? 2 : 1)
            .join('/')
        : where
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us)
  }
  const print = (title: string, map: Map<string, number>): void => {
    console.log(`\n${title}`)
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(7)} s  ${name}`)
  }
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`)
  print('self time by file or package', byFile)
  print('self time by function', byFunction)
}

const target = process.argv[2]
if (!target) {
  console.error('usage: tsx test/bench/profile-summary.ts <dir|file.cpuprofile> [top]')
  process.exit(2)
}
const top = Number(process.argv[3] ?? 25)
const files = target.endsWith('.cpuprofile')
  ? [target]
  : readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
for (const file of files) summarize(file, top)
