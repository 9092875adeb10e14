import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/golive.mjs', import.meta.url));

/** `golive worker` processes a crash test starts and kills: each on the test's Temporal server, database and task queue. */
export interface WorkerProcesses {
  /** Starts one more worker with `env` on top of the test's own; its stderr shows in the test output. */
  start(env?: NodeJS.ProcessEnv): ChildProcess;
  /** SIGKILLs every worker started, as a crash would. */
  killAll(): void;
}

export function workerProcesses(stack: { databaseUrl: string; taskQueue: string }, logLevel = 'warn'): WorkerProcesses {
  const started: ChildProcess[] = [];
  return {
    start(env = {}) {
      const child = spawn(process.execPath, [BIN, 'worker'], {
        env: {
          ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: stack.databaseUrl, GOLIVE_TASK_QUEUE: stack.taskQueue, GOLIVE_LOG_LEVEL: logLevel, ...env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      started.push(child);
      return child;
    },
    killAll() {
      for (const child of started) child.kill('SIGKILL');
    },
  };
}
