import { AssignerProtocol, type Assigner, type Cluster, type Kafka } from 'kafkajs'
import { CoPartitionedAssigner } from '../../services/shared/kafka/co-partition-assigner.ts'

const GATE = Buffer.from('driftgate-bench-gate')

export interface GroupGate {
  /** When the partitions were handed out to all the members (performance.now()). */
  opened: Promise<number>
  close(): Promise<void>
}

/**
 * A member that joins `groupId` first, so it is the group's leader and computes every
 * assignment: nobody gets a partition until `members` monitors are in the group, then they get
 * what the monitors' own assigner gives them and the gate keeps none. It stays in the group until
 * closed, so no rebalance moves partitions while the monitors read.
 *
 * This is what a broker's default group.initial.rebalance.delay.ms (3 s) does for instances
 * started together; the local broker sets it to 0 for the tests, and without the gate the first
 * monitor to join reads alone, then hands half of its partitions (and maybe the model's windows)
 * over, which is a start-up cost, not the cost of two instances.
 */
export async function openGroupGate(kafka: Kafka, o: { groupId: string; topics: string[]; members: number }): Promise<GroupGate> {
  let open: (at: number) => void = () => undefined
  const opened = new Promise<number>((resolve) => (open = resolve))
  const gateAssigner = ({ cluster }: { cluster: Cluster }): Assigner => {
    const monitorsAssigner = CoPartitionedAssigner({ cluster })
    return {
      name: monitorsAssigner.name,
      version: monitorsAssigner.version,
      async assign({ members, topics }) {
        const isGate = (m: { memberMetadata: Buffer }): boolean => AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.equals(GATE) ?? false
        const monitors = members.filter((m) => !isGate(m))
        const given = monitors.length >= o.members ? await monitorsAssigner.assign({ members: monitors, topics }) : []
        if (given.length > 0) open(performance.now())
        const nothing = AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: {}, userData: Buffer.alloc(0) })
        return members.map((m) => given.find((g) => g.memberId === m.memberId) ?? { memberId: m.memberId, memberAssignment: nothing })
      },
      protocol({ topics }) {
        return { name: monitorsAssigner.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: GATE }) }
      },
    }
  }
  const consumer = kafka.consumer({ groupId: o.groupId, partitionAssigners: [gateAssigner] })
  await consumer.connect()
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.subscribe({ topics: o.topics, fromBeginning: true })
  await consumer.run({
    eachBatch: () => Promise.reject(new Error('the bench gate was assigned partitions')),
  })
  await joined
  return { opened, close: () => consumer.disconnect() }
}
