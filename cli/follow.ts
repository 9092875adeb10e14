import { formatDuration } from '../definitions/duration.ts';
import { FINISHED, type RunState, type StepState } from '../workflows/definitions.ts';
import { EXIT } from '../runtime/errors.ts';
import { print } from './context.ts';
import { formatGate, formatRunState, formatTime } from './format-run.ts';

const POLL_INTERVAL_MS = 1_000;

/** What changed between two readings of a run, as the lines a person watching it needs. */
export function changes(before: RunState | undefined, now: RunState): string[] {
  const lines: string[] = [];
  const seen = new Map([...(before?.steps ?? []), ...(before?.rollback ?? [])].map((step) => [`${step.phase}/${step.id}`, step.status]));
  for (const step of [...now.steps, ...now.rollback]) {
    const was = seen.get(`${step.phase}/${step.id}`) ?? 'pending';
    if (step.status !== was) lines.push(...stepLines(step, now.runId));
  }
  if (now.gate && now.gate.stepId !== before?.gate?.stepId) lines.push(formatGate(now.gate, now.runId, now.requestedBy));
  if (now.status === 'paused' && before?.status !== 'paused') lines.push(`${clock()}  run paused; resume it with \`golive resume ${now.runId}\``);
  if (now.status === 'rolling-back' && before?.status !== 'rolling-back') lines.push(`${clock()}  rolling back: ${now.reason ?? 'see golive status'}`);
  return lines;
}

const clock = (iso?: string) => formatTime(iso ?? new Date().toISOString()).slice(11);

function stepLines(step: StepState, runId: string): string[] {
  const name = `${step.phase === 'rollback' ? 'rollback ' : ''}${step.id}`;
  if (step.status === 'running' || step.status === 'waiting') return [`${clock(step.startedAt)}  ${name}  started${step.action ? ` (${step.action})` : ` (${step.kind})`}`];
  const took = step.durationMs === undefined ? '' : ` in ${formatDuration(step.durationMs)}`;
  const detail = step.error ? `: ${step.error}` : step.actor ? ` by ${step.actor}${step.comment ? `: ${step.comment}` : ''}` : '';
  const line = `${clock(step.finishedAt)}  ${name}  ${step.status}${took}${detail}`;
  return step.status === 'failed' && step.phase === 'steps' ? [line, `          see \`golive timeline ${runId}\` for the whole trail`] : [line];
}

/** Prints each change of a run as it happens until the run finishes; returns its final state. */
export async function follow(runId: string, read: () => Promise<RunState>, print: (line: string) => void): Promise<RunState> {
  let before: RunState | undefined;
  return waitUntil(runId, read, (now) => {
    for (const line of changes(before, now)) print(line);
    before = now;
    return FINISHED.includes(now.status);
  }, Number.POSITIVE_INFINITY);
}

/**
 * After a run started: with --detach the bare run id (`{"runId"}` with --json) on stdout; else
 * every step as it goes, then the final state. Exits 1 when the run did not succeed.
 */
export async function reportStarted(runId: string, options: { detach?: boolean; json?: boolean }, started: string, read: () => Promise<RunState>): Promise<void> {
  if (options.detach) {
    if (!options.json) console.error(`${started}; follow it with \`golive status ${runId}\``);
    print({ runId }, options.json, () => runId);
    return;
  }
  if (!options.json) console.log(`${started}; following it (Ctrl-C stops following; the run goes on)`);
  const state = await follow(runId, read, options.json ? () => {} : (line) => console.log(line));
  print(state, options.json, (final) => `\n${formatRunState(final)}`);
  if (state.status !== 'succeeded') process.exitCode = EXIT.failed;
}

/** Reads the run until `done` holds; fails with its last state after `timeoutMs`. */
export async function waitUntil(runId: string, read: () => Promise<RunState>, done: (state: RunState) => boolean, timeoutMs: number): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await read();
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${state.status} at ${state.currentStep ?? 'no step'} after ${formatDuration(timeoutMs)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
