import { createHash } from 'node:crypto';
import type { VerifiedFlagKey } from '../store/flag-keys.ts';

export interface FlagKeyCacheOptions {
  /** How long an answer is trusted: also how long a revoked key keeps working on this server at most. */
  ttlMs?: number;
  /** Entries kept at most; past it the cache starts afresh, so a flood of made-up keys cannot grow memory. */
  maxEntries?: number;
  now?: () => number;
}

export const FLAG_KEY_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * Remembers for a short while which flag-read key a secret is, so an OFREP evaluation makes no
 * database query: the first request with a secret asks Postgres, the next ones within `ttlMs`
 * (30 s) reuse the answer. The price is that a revoked key keeps working for up to 30 s on each
 * server that verified it just before. Entries are keyed by the secret's sha256, never the
 * secret itself; concurrent first requests share one query; a failed query is not remembered.
 */
export function createFlagKeyCache(verify: (secret: string) => Promise<VerifiedFlagKey | undefined>, options: FlagKeyCacheOptions = {}) {
  const { ttlMs = FLAG_KEY_TTL_MS, maxEntries = MAX_ENTRIES, now = Date.now } = options;
  const entries = new Map<string, { answer: Promise<VerifiedFlagKey | undefined>; until: number }>();
  return (secret: string): Promise<VerifiedFlagKey | undefined> => {
    const id = createHash('sha256').update(secret).digest('base64url');
    const cached = entries.get(id);
    if (cached && cached.until > now()) return cached.answer;
    if (entries.size >= maxEntries) entries.clear();
    const entry = { answer: verify(secret), until: now() + ttlMs };
    entries.set(id, entry);
    entry.answer.catch(() => {
      if (entries.get(id) === entry) entries.delete(id);
    });
    return entry.answer;
  };
}
