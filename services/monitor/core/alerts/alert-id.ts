import { createHash } from 'node:crypto'
import type { AlertKind } from '../../../shared/events/types.ts'

/** What makes two findings the same problem: one sequence of windows, one alert at a time. */
export interface AlertIdentity {
  model_id: string
  kind: AlertKind
  subject: string
  segment: string
  /** Part of the identity: a 1h and a 1d window sequence are judged (and alert) separately. */
  window_size_ms: number
}

/**
 * Deterministic alert id: sha256 (hex, first 32 characters) of the identity and the start of the
 * episode's first window. The same problem gets the same id on every instance and after every
 * restart. The fields are hashed as a JSON array, so no separator inside a value can make two
 * different identities collide.
 */
export function alertId(identity: AlertIdentity, firstWindowStart: number): string {
  const material = JSON.stringify([identity.model_id, identity.kind, identity.subject, identity.segment, identity.window_size_ms, firstWindowStart])
  return createHash('sha256').update(material).digest('hex').slice(0, 32)
}

/** A stable string key of an identity (for maps of episode states). */
export function identityKey(identity: AlertIdentity): string {
  return JSON.stringify([identity.model_id, identity.kind, identity.subject, identity.segment, identity.window_size_ms])
}
