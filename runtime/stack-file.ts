import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What a running `golive dev` publishes so other golive commands find its stack. */
export interface StackFile {
  pid: number;
  temporalAddress: string;
  temporalUi?: string;
  databaseUrl: string;
  httpUrl: string;
}

export const stackFilePath = (home: string) => join(home, 'stack.json');

export async function writeStackFile(home: string, stack: StackFile): Promise<void> {
  await mkdir(home, { recursive: true });
  await writeFile(stackFilePath(home), `${JSON.stringify(stack, null, 2)}\n`);
}

export async function removeStackFile(home: string): Promise<void> {
  await rm(stackFilePath(home), { force: true });
}

/** The stack of a `golive dev` still running from this folder, if any. */
export function readLiveStack(home: string): StackFile | undefined {
  const path = stackFilePath(home);
  if (!existsSync(path)) return undefined;
  const stack = JSON.parse(readFileSync(path, 'utf8')) as StackFile;
  try {
    process.kill(stack.pid, 0);
    return stack;
  } catch {
    return undefined;
  }
}
