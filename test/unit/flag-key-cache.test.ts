import { describe, expect, it } from 'vitest';
import { createFlagKeyCache, FLAG_KEY_TTL_MS } from '../../server/flag-key-cache.ts';
import type { VerifiedFlagKey } from '../../store/flag-keys.ts';

const KEY: VerifiedFlagKey = { id: 'a1b2c3d4e5f6', name: 'checkout-web', environment: 'production' };

/** A key store that answers from `live` and counts how often it was asked. */
function fakeStore() {
  const state = { live: true, asked: 0, failNext: false };
  const verify = async () => {
    state.asked += 1;
    if (state.failNext) {
      state.failNext = false;
      throw new Error('connection refused');
    }
    return state.live ? KEY : undefined;
  };
  return { state, verify };
}

describe('createFlagKeyCache', () => {
  it('asks the store once per secret within 30 s, and again after: a revoked key stops within the TTL', async () => {
    let now = 0;
    const { state, verify } = fakeStore();
    const cached = createFlagKeyCache(verify, { now: () => now });
    expect(await cached('glf_secret')).toEqual(KEY);
    now += FLAG_KEY_TTL_MS - 1;
    state.live = false;
    expect(await cached('glf_secret')).toEqual(KEY);
    expect(state.asked).toBe(1);
    now += 1;
    expect(await cached('glf_secret')).toBeUndefined();
    expect(state.asked).toBe(2);
  });

  it('shares one question among concurrent first requests, and keeps secrets apart', async () => {
    const { state, verify } = fakeStore();
    const cached = createFlagKeyCache(verify);
    await Promise.all([cached('glf_one'), cached('glf_one'), cached('glf_one')]);
    expect(state.asked).toBe(1);
    await cached('glf_two');
    expect(state.asked).toBe(2);
  });

  it('does not remember a failure to ask', async () => {
    const { state, verify } = fakeStore();
    const cached = createFlagKeyCache(verify);
    state.failNext = true;
    await expect(cached('glf_secret')).rejects.toThrow('connection refused');
    expect(await cached('glf_secret')).toEqual(KEY);
  });
});
