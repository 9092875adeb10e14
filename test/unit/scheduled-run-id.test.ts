import { describe, expect, it } from 'vitest';
import { scheduledRunId } from '../../workflows/definitions.ts';

describe('scheduledRunId', () => {
  it('turns the id Temporal gives a scheduled workflow into a run id like every other, without colons', () => {
    expect(scheduledRunId('orders-drill-2026-11-24T15:32:00Z', '0195a3c4-7d1e-7b2a-9f00-5c1d2e3fab12')).toBe('orders-drill-20261124-1532-ab12');
  });

  it('gives two runs of the same minute different ids', () => {
    const first = scheduledRunId('orders-backup-2026-11-24T15:32:07Z', 'a1b2c3d4-0000-4000-8000-00000000beef');
    const second = scheduledRunId('orders-backup-2026-11-24T15:32:41Z', 'a1b2c3d4-0000-4000-8000-00000000cafe');
    expect([first, second]).toEqual(['orders-backup-20261124-1532-beef', 'orders-backup-20261124-1532-cafe']);
  });

  it('still drops the colons of an id in a form it does not know', () => {
    expect(scheduledRunId('orders-drill:nightly', '00000000-0000-4000-8000-000000001234')).toBe('orders-drill-nightly-1234');
  });
});
