import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { cancellationSignal, heartbeat, previousAttempt } from '../context.ts';
import { businessFailure } from '../../definitions/failures.ts';
import type { ActionDeps } from '../types.ts';

interface UpstreamBlock {
  servers: string[];
  /** Directives other than `server` (keepalive, hash, ...), kept when the block is rewritten. */
  directives: string[];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const blockPattern = (name: string) => new RegExp(`upstream\\s+${escapeRegExp(name)}\\s*\\{([^}]*)\\}`);

/** The `upstream NAME { ... }` block of an nginx config text, if there is one. */
export function parseUpstream(text: string, name: string): UpstreamBlock | undefined {
  const body = blockPattern(name).exec(text)?.[1];
  if (body === undefined) return undefined;
  const statements = body
    .split(';')
    .map((statement) => statement.replace(/#.*$/gm, '').trim().replace(/\s+/g, ' '))
    .filter((statement) => statement.length > 0);
  const servers = statements.filter((statement) => statement.startsWith('server ')).map((statement) => statement.split(' ')[1] ?? '');
  return { servers, directives: statements.filter((statement) => !statement.startsWith('server ')) };
}

/** The config text with the named upstream block set to `servers` (appended when absent). */
export function writeUpstream(text: string, name: string, servers: readonly string[], directives: readonly string[] = []): string {
  const lines = [...servers.map((server) => `server ${server};`), ...directives.map((directive) => `${directive};`)];
  const block = `upstream ${name} {\n${lines.map((line) => `    ${line}`).join('\n')}\n}`;
  const pattern = blockPattern(name);
  if (pattern.test(text)) return text.replace(pattern, block);
  return `${text}${text.length > 0 && !text.endsWith('\n') ? '\n' : ''}${block}\n`;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Replaces `file` in one rename, so nginx never reads half a file; undefined removes it. */
async function replaceFile(file: string, text: string | undefined): Promise<void> {
  if (text === undefined) return rm(file, { force: true });
  const temporary = `${file}.golive-tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** The worker has no nginx where its configuration says. */
class NginxMissing extends Error {
  override name = 'NginxMissing';
}

/** Runs the worker's nginx (never one a runbook names) against the target's prefix and config. */
function nginx(binary: string, target: ResolvedTarget<'nginx'>, args: string[]): Promise<void> {
  const { prefix, config } = target.spec;
  return new Promise((done, fail) => {
    execFile(binary, ['-p', resolve(prefix), '-c', config, '-e', 'stderr', ...args], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return done();
      if (error.code === 'ENOENT') return fail(new NginxMissing(`no nginx at ${binary} on this worker (GOLIVE_NGINX_BIN)`, { cause: error }));
      fail(new Error(stderr.trim() || error.message, { cause: error }));
    });
  });
}

const Remembered = z.object({ previous: z.array(z.string()) });

/**
 * Points an upstream at `servers`: rewrite the included file, `nginx -t`, `nginx -s reload`.
 * A config nginx rejects is rolled back and fails the step. Switching to the servers already
 * there reloads nothing; a retry reports the servers from before this step's first attempt.
 */
export async function switchUpstream(call: ActionCall<'nginx.switch-upstream'>, deps: Pick<ActionDeps, 'nginxBin'> = {}) {
  const binary = deps.nginxBin ?? 'nginx';
  const target = stepTarget(call, 'nginx');
  const { upstream, servers } = call.input;
  const context = `nginx.switch-upstream ${target.name} (upstream ${upstream})`;
  const file = resolve(target.spec.prefix, target.spec.upstreamFile);
  const before = await readIfPresent(file);
  const current = before === undefined ? undefined : parseUpstream(before, upstream);
  const previous = previousAttempt(Remembered)?.previous ?? current?.servers ?? [];
  // Known before anything changes: a retry, or the compensation of an interrupted step, restores it.
  heartbeat({ previous });
  if (current !== undefined && sameServers(current.servers, servers)) return { previous, servers, changed: false };
  await replaceFile(file, writeUpstream(before ?? '', upstream, servers, current?.directives));
  try {
    await nginx(binary, target, ['-t', '-q']);
  } catch (error) {
    await replaceFile(file, before);
    if (error instanceof NginxMissing) throw businessFailure(`${context}: ${error.message}; the previous file is back`, 'NotFound');
    throw businessFailure(`${context}: nginx -t rejected the new upstream, the previous file is back: ${errorText(error)}`, 'ConfigInvalid');
  }
  // The last moment to stop with nothing changed: an interrupted step leaves nginx as it was.
  if (cancellationSignal()?.aborted) {
    await replaceFile(file, before);
    return { previous, servers: previous, changed: false };
  }
  try {
    await nginx(binary, target, ['-s', 'reload']);
  } catch (error) {
    await replaceFile(file, before);
    throw new Error(`${context}: nginx -s reload failed (is nginx running with prefix ${target.spec.prefix}?): ${errorText(error)}`);
  }
  return { previous, servers, changed: true };
}

function sameServers(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((server, index) => server === right[index]);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
