import { z } from 'zod';
import { stepTarget, type ActionCall } from '../call.ts';
import { deadlineSignal } from '../context.ts';
import { businessFailure, rethrow } from '../../definitions/failures.ts';
import { joinUrl } from '../http/checks.ts';

const Sample = z.tuple([z.number(), z.string()]);
const QueryAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: Sample })) }),
      z.object({ resultType: z.literal('scalar'), result: Sample }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
      z.object({ resultType: z.literal('string'), result: Sample }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);

const MAX_SERIES = 100;

/** Prometheus sends numbers as text; NaN and ±Inf have no JSON form and become null. */
function sampleValue([, text]: z.infer<typeof Sample>): number | null {
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/**
 * Runs an instant query. `value` is the number when the answer is a scalar or exactly one
 * series, null otherwise (aggregate with sum/max to assert on one number); `series` lists
 * every series (first 100) with its labels.
 */
export async function query(call: ActionCall<'prometheus.query'>) {
  const target = stepTarget(call, 'prometheus');
  const context = `prometheus.query on ${target.name} (${call.input.query})`;
  let url: string;
  try {
    url = joinUrl(target.spec.url, `/api/v1/query?${new URLSearchParams({ query: call.input.query })}`);
  } catch {
    throw businessFailure(`target ${target.name}: url is not a valid URL`, 'InvalidTarget');
  }
  let response: Response;
  let body: unknown;
  try {
    response = await fetch(url, { signal: deadlineSignal(30_000) });
    body = await response.json();
  } catch (error) {
    rethrow(error, `${context} failed`, 'QueryFailed');
  }
  if (response.status >= 500) throw new Error(`${context}: Prometheus answered ${response.status}`);
  const answer = QueryAnswer.safeParse(body);
  if (!answer.success) throw businessFailure(`${context}: the answer (HTTP ${response.status}) is not a Prometheus query result`, 'QueryFailed');
  if (answer.data.status === 'error') throw businessFailure(`${context}: ${answer.data.error}`, 'QueryFailed');
  const { data } = answer.data;
  switch (data.resultType) {
    case 'scalar':
      return { value: sampleValue(data.result), series: [] };
    case 'vector': {
      const series = data.result.map((entry) => ({ metric: entry.metric, value: sampleValue(entry.value) }));
      return { value: series.length === 1 ? (series[0]?.value ?? null) : null, series: series.slice(0, MAX_SERIES) };
    }
    default:
      throw businessFailure(`${context}: the query returns a ${data.resultType}; use an instant vector or scalar expression`, 'QueryFailed');
  }
}
