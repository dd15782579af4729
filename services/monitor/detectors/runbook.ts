import type { AlertKind } from '../../shared/events/types.ts'

// One next step per kind (and per data-quality check), for the on-call engineer reading the alert.

const BY_KIND: Record<AlertKind, string> = {
  drift:
    'compare the listed features with the reference (evidence query); check upstream releases and traffic mix before any retraining',
  prediction_drift:
    'check whether the input features drifted too (drift alert) or the model version changed; confirm with labels before retraining',
  performance:
    'look for concurrent data-quality or join-health alerts first; if the inputs are clean, the model needs retraining on recent labeled data',
  estimated_performance:
    'estimate from scores without labels (assumes calibration): check prediction drift and wait for labels before retraining',
  data_quality: 'fix the feature pipeline before anything else: drift and performance numbers of this window are not trustworthy',
  join_health: 'check the label producer and prediction ids (formats, duplicates, lateness); performance of this window is suppressed',
  anomaly: 'check the upstream traffic source and recent deploys; compare with the same hour of previous weeks (evidence query)',
}

const BY_SUBJECT: Record<string, string> = {
  null_rate: 'find the upstream job or join that started returning nulls for the listed features',
  out_of_range: 'check units and encodings of the listed features (a scale or unit change upstream)',
  stuck: 'the listed features are constant: look for a default value, a stale cache or a failed lookup upstream',
  category_overflow: 'a categorical feature has more distinct values per window than max_category_values (ids or free text sent as a category?): fix the producer, or raise the limit if the values are real categories',
  unseen_categories: 'new category values: check for renamed or re-cased values upstream, or map them in the feature pipeline',
  missing_feature: 'the listed features were not sent (or sent with another type): check the caller\'s payload and schema',
  training_serving_skew: 'serving computes these features differently from training: compare feature code of the new version with training',
}

export function runbookHint(kind: AlertKind, subject: string): string {
  if (kind === 'data_quality') return BY_SUBJECT[subject] ?? BY_KIND.data_quality
  return BY_KIND[kind]
}
