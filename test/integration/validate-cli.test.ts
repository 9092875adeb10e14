import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `golive` entry point, as a user would, from the repository root. */
function golive(...args: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/golive.mjs', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('golive validate', () => {
  let scratch = '';
  let badFile = '';

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'golive-validate-'));
    badFile = join(scratch, 'orders-bad.yaml');
    const shipped = await readFile(join(ROOT, 'runbooks', 'orders-warm-standby.yaml'), 'utf8');
    const broken = shipped
      .replace('action: postgres.promote', 'action: postgres.promote-now')
      .replace('    rto: 30m', '    rto: half an hour');
    await writeFile(badFile, broken);
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('prints each problem as FILE:LINE:COL: path: message and exits 1', async () => {
    const result = await golive('validate', badFile);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.every((line, index) => index === lines.length - 1 || line.startsWith(`${badFile}:`))).toBe(true);
    expect(lines).toEqual([
      `${badFile}:16:10: spec.objectives.rto: must be a duration like 30s, 5m, 1h30m or 2d`,
      expect.stringMatching(/:96:15: spec\.steps\[4\]\.action: unknown action "postgres\.promote-now" \(known: noop, /),
      '1 file, 2 errors, 0 warnings',
    ]);
  });

  it('refuses a zero or negative duration at its value', async () => {
    const file = join(scratch, 'orders-zero.yaml');
    const shipped = await readFile(join(ROOT, 'runbooks', 'orders-warm-standby.yaml'), 'utf8');
    await writeFile(file, shipped.replace('timeout: 30s', 'timeout: -5m').replace('timeout: 15m', 'timeout: 0s'));
    const result = await golive('validate', file);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      `${file}:71:16: spec.steps[0].timeout: must be longer than 0s`,
      `${file}:77:18: spec.steps[1].approval.timeout: must be longer than 0s`,
      '1 file, 2 errors, 0 warnings',
    ]);
  });

  it('passes the shipped checklists, runbooks and rollouts with exit 0', async () => {
    const result = await golive('validate', 'checklists', 'runbooks', 'rollouts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^\d+ files, 0 errors, 0 warnings\n$/);
    expect(result.code).toBe(0);
  });

  it('prints {files, problems} with --json and reports a path that does not exist', async () => {
    const missing = join(scratch, 'no-such-folder');
    const result = await golive('validate', '--json', join(ROOT, 'rollouts'), missing);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      files: [
        { file: join(ROOT, 'rollouts', 'checkout-v2.yaml'), valid: true, kind: 'RolloutPlan', name: 'checkout-v2' },
        { file: join(ROOT, 'rollouts', 'orders-new-checkout-demo.yaml'), valid: true, kind: 'RolloutPlan', name: 'orders-new-checkout-demo' },
      ],
      problems: [{ file: missing, line: 0, col: 0, path: '', message: 'no such file or folder', severity: 'error' }],
    });
  });
});
