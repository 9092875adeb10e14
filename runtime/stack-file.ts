import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** What a running `golive dev` publishes so other golive commands find its stack. */
const StackFileSchema = z.object({
  pid: z.number().int().positive(),
  temporalAddress: z.string(),
  temporalUi: z.string().optional(),
  databaseUrl: z.string(),
  httpUrl: z.string(),
  /** What it runs and where, one line each, as its start-up text gives them (`golive dev --detach` prints these). */
  notes: z.array(z.string()).default([]),
});
export type StackFile = z.infer<typeof StackFileSchema>;

export const stackFilePath = (home: string) => join(home, 'stack.json');

/** Written whole or not at all: a command reading it while `golive dev` starts never sees half of it. */
export async function writeStackFile(home: string, stack: StackFile): Promise<void> {
  await mkdir(home, { recursive: true });
  const temporary = `${stackFilePath(home)}.${process.pid}`;
  await writeFile(temporary, `${JSON.stringify(stack, null, 2)}\n`);
  await rename(temporary, stackFilePath(home));
}

export async function removeStackFile(home: string): Promise<void> {
  await rm(stackFilePath(home), { force: true });
}

/**
 * Whether process `pid` still runs. A zombie (exited, not yet reaped by its parent, which is
 * what a detached `golive dev` becomes under an init that does not reap) has stopped.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function parseStackFile(text: string): StackFile | undefined {
  try {
    return StackFileSchema.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The stack of a `golive dev` still running from this folder, if any; a file that does not parse is none. */
export function readLiveStack(home: string): StackFile | undefined {
  const path = stackFilePath(home);
  const stack = existsSync(path) ? parseStackFile(readFileSync(path, 'utf8')) : undefined;
  return stack && isRunning(stack.pid) ? stack : undefined;
}
