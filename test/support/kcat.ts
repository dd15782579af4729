import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { KAFKA_BROKERS } from './harness.ts'

export type KcatCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

/**
 * Produces records with Debian's `kcat` (librdkafka), a client we did not write: other defaults,
 * every codec. `murmur2_random` hashes keys as Java and kafkajs do; librdkafka's default,
 * `consistent_random` (CRC32), sends the same key to another partition. kcat cannot set record
 * timestamps: they are the time of sending.
 */
export async function kcatProduce(o: {
  topic: string
  records: { key: string | Buffer | null; value: Buffer }[]
  compression?: KcatCompression
  partitioner?: 'murmur2_random' | 'consistent_random'
  /** Largest message librdkafka accepts locally (its default is 1,000,000 bytes). */
  maxMessageBytes?: number
}): Promise<void> {
  if (o.records.length === 0) return
  // Delimiters no record contains, so that values can be any bytes.
  const unused = (): Buffer => {
    for (;;) {
      const d = Buffer.from(`~${randomBytes(12).toString('hex')}~`)
      if (!o.records.some((r) => r.value.includes(d) || (r.key !== null && Buffer.from(r.key).includes(d)))) return d
    }
  }
  const delimiter = unused()
  const keyDelimiter = unused()
  const input = Buffer.concat(o.records.flatMap((r) => [Buffer.from(r.key ?? ''), keyDelimiter, r.value, delimiter]))
  const args = ['-P', '-b', KAFKA_BROKERS.join(','), '-t', o.topic, '-K', keyDelimiter.toString(), '-D', delimiter.toString(), '-z', o.compression ?? 'none']
  args.push('-X', `partitioner=${o.partitioner ?? 'murmur2_random'}`, '-X', `message.max.bytes=${o.maxMessageBytes ?? 1_000_000}`, '-X', 'linger.ms=20')
  await new Promise<void>((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 && !/error|fail/i.test(stderr) ? resolve() : reject(new Error(`kcat exited with ${code}: ${stderr.slice(0, 2_000)}`)),
    )
    child.stdin.end(input)
  })
}

/** Reads a topic to its end with kcat; values as UTF-8 text, in partition order. */
export async function kcatConsume(topic: string): Promise<{ partition: number; key: string; value: string }[]> {
  const delimiter = `~${randomBytes(8).toString('hex')}~`
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('kcat', ['-C', '-b', KAFKA_BROKERS.join(','), '-t', topic, '-e', '-q', '-f', `%p${delimiter}%k${delimiter}%s${delimiter}\n`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kcat exited with ${code}: ${stderr.slice(0, 2_000)}`))))
  })
  return out
    .split(`${delimiter}\n`)
    .filter(Boolean)
    .map((line) => {
      const [partition, key, value] = line.split(delimiter)
      return { partition: Number(partition), key: key ?? '', value: value ?? '' }
    })
}
