import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../stack/process.ts';
import { logDir } from './logger.ts';
import { isRunning, readLiveStack, type StackFile } from './stack-file.ts';

// From this file and from the compiled bundle in dist/ alike (both one folder below the project root).
const ENTRY_POINT = fileURLToPath(new URL('../bin/golive.mjs', import.meta.url));
/** A first start initialises Postgres and bundles the workflows: well under a minute on a laptop. */
const UP_WITHIN_MS = 180_000;
const STOP_WITHIN_MS = 60_000;

/** What a detached `golive dev` prints, as it would on a terminal: GOLIVE_HOME/logs/dev.log, new at each start. */
export const detachedOutput = (home: string) => join(logDir(home), 'dev.log');

function lastLines(file: string, count = 15): string {
  const text = existsSync(file) ? readFileSync(file, 'utf8').trimEnd() : '';
  return text === '' ? '  (nothing)' : text.split('\n').slice(-count).map((line) => `  ${line}`).join('\n');
}

/**
 * Starts `golive dev` as a detached child of golive's own entry point, its output in
 * detachedOutput(), and resolves with its stack once it published one (stack.json written, its
 * pid alive). Fails with the end of that output when the child exits first, and stops it when
 * it is not up within UP_WITHIN_MS.
 */
export async function startDetached(home: string): Promise<StackFile> {
  const output = detachedOutput(home);
  mkdirSync(logDir(home), { recursive: true });
  const descriptor = openSync(output, 'w');
  const child = spawn(process.execPath, [ENTRY_POINT, 'dev'], { detached: true, stdio: ['ignore', descriptor, descriptor] });
  closeSync(descriptor);
  child.unref();
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ?? `exit ${code}`));
  const deadline = Date.now() + UP_WITHIN_MS;
  for (;;) {
    const stack = readLiveStack(home);
    if (stack && stack.pid === child.pid) return stack;
    if (exit !== undefined) throw new Error(`golive dev stopped (${exit}) before it was up; ${output} ends with:\n${lastLines(output)}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`golive dev was not up within ${UP_WITHIN_MS / 1_000} s and was stopped; ${output} ends with:\n${lastLines(output)}`);
    }
    await delay(200);
  }
}

/** Stops the `golive dev` running from `home` (SIGTERM) and waits until it exited: its stack, or undefined when none ran. */
export async function stopRunning(home: string): Promise<StackFile | undefined> {
  const running = readLiveStack(home);
  if (!running) return undefined;
  process.kill(running.pid, 'SIGTERM');
  const stopped = async () => !isRunning(running.pid);
  await waitFor(stopped, STOP_WITHIN_MS, `golive dev (pid ${running.pid}) did not exit within ${STOP_WITHIN_MS / 1_000} s of SIGTERM; see ${detachedOutput(home)} and the logs beside it`);
  return running;
}
