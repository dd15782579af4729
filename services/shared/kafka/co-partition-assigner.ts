import { AssignerProtocol, type Assigner, type Cluster } from 'kafkajs'

/**
 * Gives each member the same partition numbers of every subscribed topic, so the predictions
 * and labels of one key (co-partitioned: same partition count, same key) reach the same
 * monitor instance. kafkajs's round-robin assigner does not guarantee that: with 4 members and
 * 6 partitions per topic it hands labels-0 and predictions-0 to different members.
 */
export const CoPartitionedAssigner = ({ cluster }: { cluster: Cluster }): Assigner => ({
  name: 'DriftgateCoPartitioned',
  version: 1,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort()
    const partitionsByTopic = new Map(
      topics.map((topic) => [
        topic,
        cluster
          .findTopicPartitionMetadata(topic)
          .map((p) => p.partitionId)
          .sort((a, b) => a - b),
      ]),
    )
    const maxPartitions = Math.max(0, ...[...partitionsByTopic.values()].map((p) => p.length))
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]))
    for (let partition = 0; partition < maxPartitions; partition++) {
      const member = memberIds[partition % memberIds.length]!
      const target = assignment.get(member)!
      for (const [topic, partitions] of partitionsByTopic) {
        if (partitions.includes(partition)) (target[topic] ??= []).push(partition)
      }
    }
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: assignment.get(memberId)!, userData: Buffer.alloc(0) }),
    }))
  },
  protocol({ topics }) {
    return { name: 'DriftgateCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }
  },
})
