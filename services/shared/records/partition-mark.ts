/** How far the monitor has finished one partition (the computed_progress table). */
export interface PartitionMark {
  topic: string
  partition: number
  maxTimestamp: number
  /** The partition had nothing newer when this was recorded. */
  caughtUp: boolean
}
