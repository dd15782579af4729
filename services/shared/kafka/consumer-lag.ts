import type { Admin } from 'kafkajs'

/**
 * Records a consumer group has not committed yet over the topics: per partition, the high
 * watermark minus the committed offset (a partition with nothing committed counts from its
 * low watermark).
 */
export async function consumerLag(admin: Admin, groupId: string, topics: string[]): Promise<number> {
  let lag = 0
  for (const topic of topics) {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })])
    for (const end of ends) {
      const c = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1'
      lag += Number(BigInt(end.high) - (c === '-1' ? BigInt(end.low) : BigInt(c)))
    }
  }
  return lag
}
