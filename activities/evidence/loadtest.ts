import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { K6_THRESHOLD } from '../../definitions/actions-go-live.ts';
import { durationMs, formatAge } from '../../definitions/duration.ts';
import { businessFailure, reason as errorReason } from '../../definitions/failures.ts';
import { stepTarget, type ActionCall } from '../call.ts';

/**
 * loadtest.summary: the load test ran elsewhere (k6 in CI, on a load generator); what golive can
 * judge honestly is the summary it left. k6 writes two JSON shapes:
 *
 * - `k6 run --summary-export=FILE`: metrics.NAME holds the statistics themselves
 *   ({avg, min, med, max, "p(90)", "p(95)"} for a trend, {count, rate} for a counter, {value, min,
 *   max} for a gauge) and a rate metric's rate under `value`, beside its passes and fails.
 * - handleSummary's data (`JSON.stringify(data)`): metrics.NAME = {type, contains, values: {…}},
 *   a rate metric's rate under `rate`.
 *
 * Thresholds are written as in k6 (`p(95)<500`). A metric or statistic the summary lacks fails
 * its threshold with the reason, rather than failing the whole check: the other thresholds are
 * still worth seeing.
 */

const Summary = z.object({ metrics: z.record(z.string(), z.unknown()) });
const HandleSummaryMetric = z.object({ type: z.string(), values: z.record(z.string(), z.unknown()) });
const ExportedMetric = z.record(z.string(), z.unknown());

type Format = 'summary-export' | 'handleSummary';

interface Metric {
  /** trend, rate, counter or gauge; inferred from the statistics in the summary-export form. */
  type: string;
  /** Statistic → number, percentile keys normalised (`p(99.90)` → `p(99.9)`). */
  stats: Map<string, number>;
}

/** `p( 99.90 )` → `p(99.9)`; every other statistic as it is. */
function statKey(stat: string): string {
  const percentile = /^p\(\s*([\d.]+)\s*\)$/.exec(stat.trim());
  return percentile ? `p(${Number(percentile[1])})` : stat.trim();
}

function numbers(values: Record<string, unknown>): Map<string, number> {
  const stats = new Map<string, number>();
  for (const [name, value] of Object.entries(values)) if (typeof value === 'number') stats.set(statKey(name), value);
  return stats;
}

/** The summary-export form drops `type`; the statistics each kind of metric carries give it back. */
function exportedType(stats: Map<string, number>): string {
  if (stats.has('passes') && stats.has('fails')) return 'rate';
  if (stats.has('count')) return 'counter';
  if (stats.has('avg') || stats.has('med')) return 'trend';
  return 'gauge';
}

function readMetric(raw: unknown): { metric: Metric; format: Format } | undefined {
  const handled = HandleSummaryMetric.safeParse(raw);
  if (handled.success) return { metric: { type: handled.data.type, stats: numbers(handled.data.values) }, format: 'handleSummary' };
  const exported = ExportedMetric.safeParse(raw);
  if (!exported.success) return undefined;
  const stats = numbers(exported.data);
  return { metric: { type: exportedType(stats), stats }, format: 'summary-export' };
}

function statistic(metric: Metric, stat: string): number | undefined {
  // summary-export renames a rate metric's `rate` to `value`.
  if (stat === 'rate' && !metric.stats.has('rate') && metric.type === 'rate') return metric.stats.get('value');
  return metric.stats.get(stat);
}

function holds(actual: number, operator: string, limit: number): boolean {
  switch (operator) {
    case '<': return actual < limit;
    case '<=': return actual <= limit;
    case '>': return actual > limit;
    case '>=': return actual >= limit;
    case '!=': return actual !== limit;
    default: return actual === limit;
  }
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  actual: number | null;
  ok: boolean;
  /** Why the threshold could not be checked: a metric or statistic the summary lacks. */
  problem?: string;
}

const listed = (names: Iterable<string>, most = 12) => {
  const all = [...names];
  return all.length > most ? `${all.slice(0, most).join(', ')}, …` : all.join(', ') || 'nothing';
};

/** Checks one k6 threshold against the summary's metrics. */
export function checkThreshold(metrics: ReadonlyMap<string, Metric>, name: string, expression: string): ThresholdResult {
  const parsed = K6_THRESHOLD.exec(expression);
  const text = expression.trim();
  if (!parsed) return { metric: name, expression: text, actual: null, ok: false, problem: `"${text}" is not a k6 threshold like p(95)<500` };
  const [, rawStat = '', operator = '', limit = ''] = parsed;
  const metric = metrics.get(name);
  if (!metric) {
    return { metric: name, expression: text, actual: null, ok: false, problem: `metric ${name} is not in the summary (it has ${listed(metrics.keys())})` };
  }
  const stat = statKey(rawStat);
  const actual = statistic(metric, stat);
  if (actual === undefined) {
    const advice = stat.startsWith('p(') ? `; add ${stat} to k6's --summary-trend-stats` : '';
    return { metric: name, expression: text, actual: null, ok: false, problem: `${stat} of ${name} is not in the summary (it has ${listed(metric.stats.keys())})${advice}` };
  }
  return { metric: name, expression: text, actual, ok: holds(actual, operator, Number(limit)) };
}

/** The summary's metrics by name, and which of k6's two forms the file is in. */
export function readSummary(body: unknown, file: string): { metrics: Map<string, Metric>; format: Format } {
  const summary = Summary.safeParse(body);
  if (!summary.success) {
    throw businessFailure(`loadtest.summary: ${file} is not a k6 summary (it has no metrics object); write it with k6 run --summary-export or from handleSummary`, 'EvidenceMissing');
  }
  const metrics = new Map<string, Metric>();
  const formats = new Set<Format>();
  for (const [name, raw] of Object.entries(summary.data.metrics)) {
    const read = readMetric(raw);
    if (!read) continue;
    metrics.set(name, read.metric);
    formats.add(read.format);
  }
  return { metrics, format: formats.has('handleSummary') ? 'handleSummary' : 'summary-export' };
}

const shown = (value: number) => String(Number(value.toPrecision(6)));

function thresholdText(result: ThresholdResult): string {
  return `${result.metric} ${result.expression} (${result.problem ?? `actual ${shown(result.actual ?? Number.NaN)}`})`;
}

/** The summary file: the target's path, or with.file inside the target's folder. */
async function summaryFile(call: ActionCall<'loadtest.summary'>): Promise<{ path: string; modifiedAt: Date }> {
  const target = stepTarget(call, 'filesystem');
  const path = call.input.file === undefined ? target.spec.path : resolve(target.spec.path, call.input.file);
  const context = `loadtest.summary ${target.name}`;
  let found: Stats;
  try {
    found = await stat(path);
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
    throw businessFailure(
      missing
        ? `${context}: no k6 summary at ${path}; run the load test with k6 run --summary-export=${path} (or write it from handleSummary)`
        : `${context}: cannot read ${path}: ${errorReason(error)}`,
      'EvidenceMissing',
      error,
    );
  }
  if (found.isDirectory()) {
    throw businessFailure(`${context}: ${path} is a folder; name the summary file in it with with.file (like summary.json)`, 'InvalidInput');
  }
  return { path, modifiedAt: found.mtime };
}

/** loadtest.summary: every threshold checked against the summary, and the summary's age against maxAge. */
export async function loadtestSummary(call: ActionCall<'loadtest.summary'>) {
  const { path, modifiedAt } = await summaryFile(call);
  let body: unknown;
  try {
    body = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    // JSON.parse's message quotes the file's text; the reason names the file only.
    const what = error instanceof SyntaxError ? 'is not JSON' : `cannot be read: ${errorReason(error)}`;
    throw businessFailure(`loadtest.summary: ${path} ${what}; point the target at k6's JSON summary`, 'EvidenceMissing');
  }
  const { metrics, format } = readSummary(body, path);
  const thresholds = Object.entries(call.input.thresholds).flatMap(([metric, expressions]) =>
    expressions.map((expression) => checkThreshold(metrics, metric, expression)),
  );
  const ageMs = Math.max(0, Date.now() - modifiedAt.getTime());
  const problems: string[] = [];
  const failed = thresholds.filter((result) => !result.ok);
  if (failed.length > 0) problems.push(`${failed.length} of ${thresholds.length} thresholds failed: ${failed.map(thresholdText).join('; ')}`);
  const { maxAge } = call.input;
  if (maxAge !== undefined && ageMs > durationMs(maxAge)) {
    problems.push(`the summary was written ${formatAge(ageMs)} ago, longer ago than maxAge ${maxAge}: run the load test again`);
  }
  return {
    ok: problems.length === 0,
    ...(problems.length > 0 ? { reason: problems.join('; ') } : {}),
    file: path,
    format,
    writtenAt: modifiedAt.toISOString(),
    ageMs,
    thresholds,
  };
}
