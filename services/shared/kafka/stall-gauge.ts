import { Gauge, type Registry } from 'prom-client'
import type { Stall } from './stall-watch.ts'

/** `driftgate_consumer_stalled_seconds{topic,partition}`: how long each assigned partition with
 *  lag has gone without a commit (0: moving or nothing to read), read at scrape time. */
export function registerStallGauge(registry: Registry, stalls: () => Stall[]): void {
  new Gauge({
    name: 'driftgate_consumer_stalled_seconds',
    help: 'Seconds an assigned partition with records to read has gone without its committed offset moving (0: moving or caught up). Health turns red past the stall limit.',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of stalls()) this.set({ topic: s.topic, partition: String(s.partition) }, s.seconds)
    },
  })
}
