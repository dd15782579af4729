import { z } from 'zod'
import { formatIssues } from '../../shared/config/model-config.ts'
import { DecodeError } from '../../shared/codec/decode-error.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'

// A trigger sent as JSON skips Avro's type checks; the gates do arithmetic on its times and
// numbers, so a malformed one is dead-lettered instead of becoming a nonsense decision.

const ms = z.number().int().min(0)
const finite = z.number().refine(Number.isFinite, 'must be a finite number')

const triggerShape = z.object({
  alert_id: z.string().min(1),
  model_id: z.string().min(1),
  model_version: z.string(),
  segment: z.string().default('all'),
  // Kinds and severities are open sets (schemas/README.md): an unknown one is kept as it is and
  // is neither a shift nor a blocking alert for the gates.
  kind: z.string().min(1),
  subject: z.string(),
  severity: z.string().min(1),
  status: z.enum(['firing', 'resolved']),
  window_size_ms: ms,
  window_start: ms,
  window_end: ms,
  observed: finite,
  expected: finite,
  threshold: finite,
  evidence: z.array(z.object({ name: z.string(), score: finite, detail: z.string().default('') })).default([]),
  label_coverage: finite.nullable().default(null),
  estimated: z.boolean().default(false),
  first_seen: ms,
  last_seen: ms,
  summary: z.string(),
  evidence_query: z.string().default(''),
  data_time: ms.default(0),
})

export function checkTrigger(value: unknown): MonitorTrigger {
  const result = triggerShape.safeParse(value)
  if (!result.success) throw new DecodeError('invalid_event', formatIssues(result.error))
  if (result.data.last_seen < result.data.first_seen) throw new DecodeError('invalid_event', 'last_seen: is before first_seen')
  return result.data as MonitorTrigger
}
