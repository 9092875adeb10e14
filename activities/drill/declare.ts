import pg from 'pg';
import { stepTarget, type ActionCall } from '../call.ts';

/**
 * How long reading the source's clock may take, connection included. A drill runs because the
 * source may be gone: an unreachable source costs T_d at most this long and never fails the drill.
 */
export const SOURCE_CLOCK_TIMEOUT_MS = 3_000;

/** What a drill's declare step reports: T_d on the worker's clock and, when it answered, on the source's. */
export type Declaration = {
  /** T_d on the worker's clock: when the step began declaring. */
  declaredAt: string;
  /** The source database's clock_timestamp() as read, or null when the source did not answer. */
  sourceClock: string | null;
  /** The source's clock minus the worker's, in ms (accurate to half of roundTripMs); null when not read. */
  skewMs: number | null;
  /** How long the clock query took; the skew is known to within half of it. Null when not read. */
  roundTripMs: number | null;
  sourceReachable: boolean;
  /** Why the source clock was not read, and what the drill does instead. */
  note?: string;
};

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One clock_timestamp() from the database at `url`, with the worker's time halfway through the query. */
async function readClock(url: string): Promise<{ source: number; worker: number; roundTripMs: number }> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: SOURCE_CLOCK_TIMEOUT_MS,
    query_timeout: SOURCE_CLOCK_TIMEOUT_MS,
    application_name: 'golive drill.declare',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const sent = Date.now();
    const { rows } = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const received = Date.now();
    const now = rows[0]?.now;
    if (!(now instanceof Date)) throw new Error('clock_timestamp() returned no timestamp');
    return { source: now.getTime(), worker: sent + (received - sent) / 2, roundTripMs: received - sent };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Declares the drill's disaster: T_d is now on the worker's clock, and the source database's
 * clock is read at the same moment, so RPO can be measured on the clock that wrote the restored
 * heartbeats. A source that cannot be reached within SOURCE_CLOCK_TIMEOUT_MS (or whose target
 * does not resolve here) is reported, not thrown: the drill goes on and measures RPO on the
 * worker's clock. No retries inside; the declaration is one reading.
 */
export async function declare(call: ActionCall<'drill.declare'>): Promise<Declaration> {
  const declaredAt = new Date().toISOString();
  const name = call.request.target?.name ?? 'the backup source';
  try {
    const target = stepTarget(call, 'postgres');
    const clock = await readClock(target.spec.url);
    return {
      declaredAt,
      sourceClock: new Date(clock.source).toISOString(),
      skewMs: Math.round(clock.source - clock.worker),
      roundTripMs: clock.roundTripMs,
      sourceReachable: true,
    };
  } catch (error) {
    return {
      declaredAt,
      sourceClock: null,
      skewMs: null,
      roundTripMs: null,
      sourceReachable: false,
      note: `cannot read the clock of source ${name} (${message(error)}); T_d and RPO are on the worker clock`,
    };
  }
}
