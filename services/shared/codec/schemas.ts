import { readFileSync } from 'node:fs'

/** The Avro records of the contract, by the name used in code. */
export type RecordName = 'PredictionEvent' | 'LabelEvent' | 'MonitorTrigger' | 'PolicyDecision' | 'RetrainRequest'

const FILES: Record<RecordName, string> = {
  PredictionEvent: 'prediction-event.avsc',
  LabelEvent: 'label-event.avsc',
  MonitorTrigger: 'monitor-trigger.avsc',
  PolicyDecision: 'policy-decision.avsc',
  RetrainRequest: 'retrain-request.avsc',
}

const SCHEMAS_DIR = new URL('../../../schemas/', import.meta.url)

/** The .avsc text of a record, as registered with the schema registry. */
export function schemaText(name: RecordName): string {
  return readFileSync(new URL(FILES[name], SCHEMAS_DIR), 'utf8')
}

/** Subject under the registry's default TopicNameStrategy. */
export function valueSubject(topic: string): string {
  return `${topic}-value`
}
