import type { AlertKind } from '../../../shared/events/types.ts'

// One paragraph per alert kind for the on-call engineer who receives the page: what the alert
// means, the first three steps, and which driftgate tables (ClickHouse database `driftgate`,
// read with FINAL) hold the evidence. Sent as the `runbook` annotation and in webhook bodies.

export const RUNBOOKS: Record<AlertKind, string> = {
  drift:
    'Input drift: the distribution of one or more features in this window moved away from the reference profile by more than ' +
    'sampling noise explains, and by possibly as much as the minimum effect configured (a mean shift in reference standard ' +
    'deviations, a share of values moved between bins or categories; a p-value alone never fires). It says the inputs changed, not that ' +
    'the model got worse. First steps: (1) run the evidence query and compare the listed features with the reference; ' +
    '(2) check for concurrent data_quality or anomaly alerts and upstream releases or traffic-mix changes (a new segment, a new ' +
    'client) in the same hours; (3) watch performance and estimated_performance for the same model before deciding anything: the ' +
    'policy service retrains only on persistent, label-confirmed harm. Tables: window_feature_stats (histograms, means, category ' +
    'counts per window), window_summary (volume), alerts and policy_decisions.',
  prediction_drift:
    'Prediction drift: the distribution of the model outputs (score, predicted class or value, profiled as __score, ' +
    '__predicted_class, __predicted_value) moved away from the reference. It often comes before a measured performance drop, or ' +
    'after a deploy. First steps: (1) check whether a new model_version went live at the start of the episode; (2) look for an ' +
    'input drift alert on the same model and window, which would explain the shift; (3) compare with labels as they arrive ' +
    "(performance alert, label coverage) before any retraining. Tables: window_feature_stats (feature LIKE '__%'), " +
    'window_summary (model_version, volume, label_coverage), alerts.',
  performance:
    'Performance drop: a metric computed from ground-truth labels (accuracy, F1, AUC, log loss, MAE, RMSE, business value) is ' +
    'worse than its baseline by more than the threshold, with a confidence interval that excludes no change and enough label ' +
    'coverage. This is the alert that can lead to a retrain. First steps: (1) look for concurrent data_quality or join_health ' +
    'alerts first: broken inputs or a broken label join make the number untrustworthy; (2) check label_coverage and the label ' +
    'delay of the window, and whether one segment carries the drop; (3) read the policy decision for this episode (retrain, ' +
    'hold, investigate) and its reasons before acting by hand. Tables: window_summary (metrics with labeled_count and ' +
    'label_coverage), labels, label_health, policy_decisions, retrain_requests.',
  estimated_performance:
    'Estimated performance drop: without labels yet, the confidence-based estimate (CBPE, which assumes calibrated scores) says ' +
    'accuracy fell below its threshold. It covers the label delay; it is an early warning, not proof. First steps: (1) check ' +
    'prediction_drift and drift alerts on the same window, which usually explain an estimate change; (2) check the calibration ' +
    'error of recent labeled windows, since an uncalibrated model makes the estimate wrong; (3) wait for labels (performance ' +
    'alert, label_coverage rising) before retraining; the policy service holds until they arrive. Tables: window_summary ' +
    '(estimated_accuracy, calibration_error, label_coverage), window_feature_stats (__score), alerts.',
  data_quality:
    'Data quality: a feature pipeline problem in this window, such as null rates above their limit, values out of the expected ' +
    'range (a unit or scale change), a stuck constant feature, unseen categories, more distinct values of a category than max_category_values (category_overflow), a missing feature or a training/serving skew ' +
    'after a deploy (the subject says which). Drift and performance numbers of the affected windows are not trustworthy, and the ' +
    'policy service will answer investigate, never retrain. First steps: (1) run the evidence query to see the affected features ' +
    'and since when; (2) find the upstream job, join, cache or client release that changed at that time; (3) fix the pipeline ' +
    'and let the alert resolve, retraining on this data would learn the bug. Tables: window_feature_stats (nulls, min, max, ' +
    'unseen, categories), predictions (raw feature values), window_summary (model_version).',
  join_health:
    'Join health: labels are not meeting their predictions as they should: the share of labels joined to a prediction fell, ' +
    'orphan labels (no prediction with that prediction_id) surged against the median of the trailing windows, or prediction ' +
    'ids arrive duplicated. Performance findings of the affected windows are suppressed, since labels joined to the wrong or to ' +
    'no prediction make them meaningless. First steps: (1) check the label producer: is it running, and does it send ' +
    'prediction ids in the same format (case, prefix, type) as the model service; (2) check duplicates and late labels with ' +
    'the evidence query; (3) once fixed, an orphan label whose prediction turns up is joined again (orphan_labels ' +
    'resolved = 1), nothing to replay by hand. Tables: label_health (received, joined, orphaned per window), orphan_labels, ' +
    'labels, window_summary (duplicate_count, label_coverage, label delay percentiles).',
  anomaly:
    'Anomaly: a metric series of the model (prediction volume, the null rate of a feature, the mean prediction, a performance ' +
    'metric) is far from its seasonal baseline, the median at the same hour of the week (same hour of the day while the ' +
    'history is short, earlier anomalous windows left out), by both a t statistic beyond the critical value for that few ' +
    'samples (the spread floored by the sampling noise at the window volume) and a minimum change, so an ordinary Monday ' +
    'morning does not fire it; performance and null rates alert only when they get worse. A sudden volume drop often means lost traffic or a broken producer; a spike, a retry storm or a new client. Volume 0 ' +
    'means the model sent nothing at all: its windows were closed by processing time (window_idle_closes) after ' +
    'MONITOR_IDLE_CLOSE_MS without a prediction; check that the service is up and still emits events. Volume 0 on a segment ' +
    'means that segment stopped while the rest of the traffic goes on (a client, a region, a feature flag). First ' +
    'steps: (1) compare the window with the same hour of previous weeks (evidence query); (2) check the upstream traffic ' +
    'source, the producers and recent deploys, and the dead-letter topic for rejected events; (3) check whether other models ' +
    'fed by the same source fire too, which points to shared infrastructure. Tables: window_summary (volume, late_count, ' +
    'duplicate_count), window_feature_stats (nulls), window_evaluations (findings per window), alerts.',
}

export function runbookFor(kind: AlertKind): string {
  return RUNBOOKS[kind]
}

// One next step per kind (and per data-quality check), for the on-call engineer reading the alert.

const BY_KIND: Record<AlertKind, string> = {
  drift: 'compare the listed features with the reference (evidence query); check upstream releases and traffic mix before any retraining',
  prediction_drift: 'check whether the input features drifted too (drift alert) or the model version changed; confirm with labels before retraining',
  performance: 'look for concurrent data-quality or join-health alerts first; if the inputs are clean, the model needs retraining on recent labeled data',
  estimated_performance: 'estimate from scores without labels (assumes calibration): check prediction drift and wait for labels before retraining',
  data_quality: 'fix the feature pipeline before anything else: drift and performance numbers of this window are not trustworthy',
  join_health: 'check the label producer and prediction ids (formats, duplicates, lateness); performance of this window is suppressed',
  anomaly: 'check the upstream traffic source and recent deploys; compare with the same hour of previous weeks (evidence query)',
}

const BY_SUBJECT: Record<string, string> = {
  null_rate: 'find the upstream job or join that started returning nulls for the listed features',
  out_of_range: 'check units and encodings of the listed features (a scale or unit change upstream)',
  stuck: 'the listed features are constant: look for a default value, a stale cache or a failed lookup upstream',
  category_overflow:
    'a categorical feature has more distinct values per window than max_category_values (ids or free text sent as a category?): fix the producer, or raise the limit if the values are real categories',
  unseen_categories: 'new category values: check for renamed or re-cased values upstream, or map them in the feature pipeline',
  missing_feature: "the listed features were not sent (or sent with another type): check the caller's payload and schema",
  training_serving_skew: 'serving computes these features differently from training: compare feature code of the new version with training',
}

export function runbookHint(kind: AlertKind, subject: string): string {
  if (kind === 'data_quality') return BY_SUBJECT[subject] ?? BY_KIND.data_quality
  return BY_KIND[kind]
}
