import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { golive } from '../support/cli.ts';

let home: string | undefined;
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

it('`golive demo` tells the DR story on a fresh embedded stack: backup, writes, drill with measured RPO/RTO, posture', async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-demo-'));
  await chmod(home, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, GOLIVE_HOME: join(home, '.golive') };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  const result = await golive(['demo'], { env, cwd: home, timeoutMs: 240_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/backup run orders-drill-demo-backup-\S+: succeeded/);
  expect(result.stdout).toMatch(/drill orders-drill-demo-drill-\S+: PASSED/);
  const rpo = /RPO\s+measured (\d+\.\d)s \(newest heartbeat [^)]+, source clock\)\s+objective 5m\s+met/.exec(result.stdout);
  expect(rpo, result.stdout).not.toBeNull();
  // Five seconds of writes passed between the backup and the drill: that is the data lost.
  expect(Number(rpo![1])).toBeGreaterThanOrEqual(5);
  expect(result.stdout).toMatch(/disaster declared \(T_d\) \S+ \S+Z on the worker clock \(source clock [+-][\d.]+m?s\)/);
  // The ground truth is one number when the newest beat did not change while the backup ran.
  const truth = /measured RPO (\d+\.\d)s on the source clock from the newest heartbeat .*: (?:between (\d+\.\d)s and (\d+\.\d)s|(\d+\.\d)s \(its newest beat was the same)/.exec(result.stdout);
  expect(truth, result.stdout).not.toBeNull();
  expect(result.stdout).not.toMatch(/between (\d+\.\d)s and \1s/);
  const [measured, least, most] = [Number(truth![1]), Number(truth![2] ?? truth![4]), Number(truth![3] ?? truth![4])];
  expect(measured).toBeGreaterThanOrEqual(least - 0.1);
  expect(measured).toBeLessThanOrEqual(most + 0.1);
  expect(result.stdout).toMatch(/RTO\s+measured \d+\.\ds\s+objective 15m\s+met/);
  expect(result.stdout).toMatch(/orders-demo\s+warm-standby\s+5m\s+15m\s+\d+s ago\s+passed \(RPO [\d.]+s, RTO [^)]+\)\s+ok/);
}, 300_000);
