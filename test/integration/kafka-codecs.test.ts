import { describe, expect, it } from 'vitest'
import { createProducer, type Compression } from '../../services/shared/kafka/producer.ts'
import { scanTopic } from '../../services/shared/kafka/read-topic.ts'
import { freshTopics, uniqueId } from '../support/harness.ts'
import { kcatConsume, kcatProduce } from '../support/kcat.ts'

const CODECS: Compression[] = ['gzip', 'snappy', 'lz4', 'zstd']

// Values that compress well and values that do not, so every codec writes real blocks.
const valueOf = (codec: string, i: number): Buffer => Buffer.from(`${codec}-${i}-${'abc'.repeat(i % 50)}-${(i * 2654435761) % 1000003}`)

describe('compressed records from and to a librdkafka client (kcat)', () => {
  it('reads every record kcat produced with gzip, snappy, lz4 and zstd, byte for byte', async () => {
    const { kafka, topics } = await freshTopics(uniqueId(), 3)
    const sent = new Map<string, Buffer>()
    for (const codec of CODECS) {
      const records = Array.from({ length: 300 }, (_, i) => ({ key: `${codec}-${i}`, value: valueOf(codec, i) }))
      for (const r of records) sent.set(r.key, r.value)
      await kcatProduce({ topic: topics.predictions, records, compression: codec })
    }
    const { records } = await scanTopic(kafka, topics.predictions, { toEnd: true, timeoutMs: 30_000 })
    expect(records).toHaveLength(sent.size)
    for (const r of records) expect(r.value!.equals(sent.get(r.key!.toString())!), r.key!.toString()).toBe(true)
  })

  it('compresses with every codec in a way kcat reads back', async () => {
    const { kafka, topics } = await freshTopics(uniqueId(), 3)
    const expected: string[] = []
    for (const codec of CODECS) {
      const producer = await createProducer(kafka, { compression: codec })
      const records = Array.from({ length: 200 }, (_, i) => ({ key: `${codec}-${i}`, value: valueOf(codec, i) }))
      await producer.send(topics.labels, records).finally(() => producer.close())
      expected.push(...records.map((r) => r.value.toString()))
    }
    const read = await kcatConsume(topics.labels)
    expect(read.map((r) => r.value).sort()).toEqual(expected.sort())
  })

  it("puts a key on the partition kafkajs would with murmur2_random, and often elsewhere with librdkafka's default", async () => {
    const { kafka, topics } = await freshTopics(uniqueId(), 6)
    const keys = Array.from({ length: 60 }, (_, i) => `p-${i}`)
    const producer = await createProducer(kafka)
    await producer
      .send(
        topics.predictions,
        keys.map((key) => ({ key, value: Buffer.from('kafkajs') })),
      )
      .finally(() => producer.close())
    await kcatProduce({ topic: topics.labels, records: keys.map((key) => ({ key, value: Buffer.from('murmur2') })), partitioner: 'murmur2_random' })
    await kcatProduce({ topic: topics.labels, records: keys.map((key) => ({ key, value: Buffer.from('crc32') })), partitioner: 'consistent_random' })
    const ours = new Map((await scanTopic(kafka, topics.predictions, { toEnd: true, timeoutMs: 30_000 })).records.map((r) => [r.key!.toString(), r.partition]))
    const theirs = (await scanTopic(kafka, topics.labels, { toEnd: true, timeoutMs: 30_000 })).records
    const same = (how: string) => theirs.filter((r) => r.value!.toString() === how).filter((r) => ours.get(r.key!.toString()) === r.partition).length
    expect(same('murmur2')).toBe(keys.length)
    // CRC32 and murmur2 agree on about one key in six with six partitions.
    expect(same('crc32')).toBeLessThan(keys.length / 2)
  })
})
