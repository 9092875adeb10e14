import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cancellationSignal, withHeartbeats } from '../context.ts';
import { businessFailure, rethrow, type FailureType } from '../../definitions/failures.ts';
import type { ActionDeps } from '../types.ts';

export interface ToolRun {
  tool: 'pg_dump' | 'pg_restore';
  args: string[];
  /** libpq settings (libpqEnvironment), so no password is ever on a command line. */
  env: Record<string, string>;
  /** Starts every error message: "cannot restore orders/42.dump into orders_drill on drill-db". */
  context: string;
  type: FailureType;
  /** Fed to the tool's stdin; a read error of this stream fails the run with that error. */
  stdin?: Readable;
  /** Pipe the tool's stdout (read it from `stdout`); otherwise it is discarded. */
  stdout?: boolean;
  /** Stops the tool; Temporal's cancellation stops it too. */
  signal?: AbortSignal;
}

export interface RunningTool {
  stdout: Readable | null;
  /** Settles when the tool has exited and its stdio has closed. */
  finished: Promise<void>;
  /** Stops the tool if it is still running; true when it was. */
  stop(): boolean;
}

const STDERR_KEEP = 8_192;

function transientOutput(stderr: string): boolean {
  return /connection refused|could not connect|server closed the connection|timeout expired|the database system is (starting up|shutting down)/i.test(stderr);
}

/**
 * Starts pg_dump or pg_restore with connection settings in its environment. Failures name the
 * context and the tool's last stderr lines: connection trouble retries, the rest fails the step.
 */
export function startTool(deps: ActionDeps, run: ToolRun): RunningTool {
  const binary = join(deps.pgBin, run.tool);
  const signals = [run.signal, cancellationSignal()].filter((signal): signal is AbortSignal => signal !== undefined);
  const child = spawn(binary, run.args, {
    env: { PATH: process.env.PATH ?? '', ...run.env },
    stdio: [run.stdin ? 'pipe' : 'ignore', run.stdout ? 'pipe' : 'ignore', 'pipe'],
    ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP);
  });
  let sourceError: unknown;
  const { stdin: source } = run;
  if (source && child.stdin) {
    source.once('error', (error) => {
      sourceError = error;
      if (running()) child.kill('SIGTERM');
    });
    // A tool that stops reading (it failed, or needed no more) breaks the pipe; its exit status says why.
    pipeline(source, child.stdin).catch(() => {});
  }
  const finished = new Promise<void>((done, fail) => {
    child.once('error', (error) => {
      if (error.name === 'AbortError') return fail(new Error(`${run.context}: ${run.tool} was stopped`, { cause: error }));
      if ('code' in error && error.code === 'ENOENT') {
        return fail(businessFailure(`${run.context}: ${run.tool} not found at ${binary}`, run.type));
      }
      fail(new Error(`${run.context}: cannot run ${run.tool}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      if (sourceError !== undefined) return fail(readFailure(sourceError, run));
      if (code === 0) return done();
      const detail = stderr.trim().split('\n').slice(-5).join('\n') || `${run.tool} exited with ${signal ?? `code ${code}`}`;
      fail(transientOutput(detail) ? new Error(`${run.context}: ${detail}`) : businessFailure(`${run.context}: ${detail}`, run.type));
    });
  });
  const stop = () => {
    if (!running()) return false;
    child.kill('SIGTERM');
    return true;
  };
  return { stdout: child.stdout, finished, stop };
}

function readFailure(error: unknown, run: ToolRun): Error {
  try {
    return rethrow(error, `${run.context}: reading the input of ${run.tool} failed`, run.type);
  } catch (failure) {
    return failure instanceof Error ? failure : new Error(String(failure));
  }
}

/** Runs a tool to the end, heartbeating meanwhile. */
export function runTool(deps: ActionDeps, run: ToolRun): Promise<void> {
  return withHeartbeats(startTool(deps, run).finished);
}
