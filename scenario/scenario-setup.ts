import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Kafka } from 'kafkajs'
import { parseDocument } from 'yaml'
import type { ClickHouse } from '../services/shared/clickhouse/client.ts'
import type { ModelConfig } from '../services/shared/config/model-config.ts'
import { buildReferenceProfile } from '../services/monitor/core/reference/build-reference.ts'
import type { Scenario } from './scenario.ts'
import { deleteModelRows, pendingMutations } from './store/scenario-queries.ts'

// What the main job does before it plays: forget the demo model's previous run, and write the
// configuration the services run with (the committed example plus the reference profile built
// from the scenario's training week).

/**
 * Deletes every row of one model from every driftgate table that has a model_id column, and
 * waits until the deletions are done. ClickHouse 18.16 runs ALTER ... DELETE as an asynchronous
 * mutation; starting the monitor before they finish would let them delete its fresh rows too.
 * Tables are found in system.columns, so a table added by a later migration is reset as well.
 * The progress the given consumer groups recorded (tables with a consumer_group column) goes too:
 * the scenario's times repeat from run to run.
 */
export async function resetModelData(ch: ClickHouse, modelId: string, groups: string[] = [], timeoutMs = 120_000): Promise<string[]> {
  const names = await deleteModelRows(ch, modelId, groups)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if ((await pendingMutations(ch)) === 0) return names
    if (Date.now() > deadline) throw new Error(`ClickHouse mutations deleting ${modelId} did not finish in ${timeoutMs / 1000} s (see system.mutations)`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * Moves a consumer group to the end of its topics, so that what earlier (possibly interrupted)
 * runs left unconsumed is not replayed into this one: the scenario's ids repeat from run to run
 * and would count as duplicate predictions. Fails when the group has live members.
 */
export async function skipToEnd(kafka: Kafka, groupId: string, topics: string[], waitMs = 45_000): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    // A member of a run that just stopped may still be leaving the group: give it a moment.
    const deadline = Date.now() + waitMs
    while ((await admin.describeGroups([groupId])).groups[0]?.members.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000))
    for (const topic of topics) {
      try {
        // Explicit offsets: admin.resetOffsets(latest) commits -1, which a consumer reads as "no
        // offset" and, subscribed from the beginning, replays the whole topic.
        const ends = await admin.fetchTopicOffsets(topic)
        await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) })
      } catch (error) {
        throw new Error(
          `cannot move consumer group ${groupId} to the end of ${topic} (${(error as Error).message}); is another monitor or policy process running with that group?`,
        )
      }
    }
  } finally {
    await admin.disconnect()
  }
}

/** End offsets per partition (to tell this run's records from earlier runs' on a shared topic). */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]))
  } finally {
    await admin.disconnect()
  }
}

export interface ScenarioConfigFiles {
  configPath: string
  referencePath: string
}

/**
 * Builds the reference profile from the scenario's training week and writes it with the
 * effective config: the template (comments kept) with the model's reference_profile pointing
 * at the profile, both in `outDir`.
 */
export function writeScenarioConfig(templatePath: string, outDir: string, model: ModelConfig, scenario: Scenario, seed: number): ScenarioConfigFiles {
  mkdirSync(outDir, { recursive: true })
  const referenceName = `${model.model_id}.reference.json`
  const profile = buildReferenceProfile(model, scenario.baseline.predictions, scenario.baseline.labels, {
    source: `training-baseline:scenario seed ${seed}, ${scenario.baseline.predictions.length} predictions of the first week`,
    now: scenario.start,
  })
  const referencePath = join(outDir, referenceName)
  writeFileSync(referencePath, `${JSON.stringify(profile, null, 1)}\n`)
  const doc = parseDocument(readFileSync(templatePath, 'utf8'))
  const models = doc.getIn(['models']) as { items: unknown[] } | undefined
  const index = (doc.toJS() as { models: { model_id: string }[] }).models.findIndex((m) => m.model_id === model.model_id)
  if (!models || index < 0) throw new Error(`${templatePath} has no model ${model.model_id}`)
  doc.setIn(['models', index, 'reference_profile'], referenceName)
  doc.commentBefore = ` Written by the main job from ${resolve(templatePath)}; reference profile from the scenario's training week.\n${doc.commentBefore ?? ''}`
  const configPath = join(outDir, 'driftgate.yaml')
  writeFileSync(configPath, doc.toString())
  return { configPath, referencePath }
}
