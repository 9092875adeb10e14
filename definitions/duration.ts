const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+)(ms|s|m|h|d)/gy;

export const DURATION_HINT = 'a duration like 30s, 5m, 1h30m or 2d';

/** Milliseconds in `30s`, `5m`, `1h30m`, `2d`, `250ms`; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return total;
}

/**
 * An RPO or RTO as a person types it on the command line: a duration, or a bare `0` (no data
 * loss, no downtime), which has no unit to give.
 */
export function parseObjective(text: string): number | undefined {
  return text === '0' ? 0 : parseDuration(text);
}

/** Like parseDuration, for text already validated by the schema. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new TypeError(`"${text}" is not ${DURATION_HINT}`);
  return ms;
}

/** `95400000` → `1d2h30m`; below a second, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join('');
}

/** `2d 3h`, `5h 12m`, `3m 20s`, `45s`: the two largest units, for ages a person reads. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const units = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const;
  const first = units.findIndex(([, size]) => ms >= size);
  const [bigName, bigSize] = units[first] ?? units[3];
  const big = Math.floor(ms / bigSize);
  const next = units[first + 1];
  if (!next) return `${big}${bigName}`;
  return `${big}${bigName} ${Math.floor((ms - big * bigSize) / next[1])}${next[0]}`;
}

/** A measured RPO or RTO: `3.2s` below a minute (drills are often that fast), else like formatAge. */
export function formatMeasured(ms: number): string {
  return ms < 60_000 ? `${(ms / 1_000).toFixed(1)}s` : formatAge(ms);
}

/** `+12ms`, `-1.2s`, `+3m 5s`: a signed clock difference (one clock minus another). */
export function formatSkew(ms: number): string {
  const size = Math.abs(ms);
  return `${ms < 0 ? '-' : '+'}${size < 1_000 ? `${Math.round(size)}ms` : formatMeasured(size)}`;
}
