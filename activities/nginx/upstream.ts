import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { durationMs } from '../../definitions/duration.ts';
import { referencedTarget, stepTarget, type ActionCall, type ResolvedTarget } from '../call.ts';
import { cancellationSignal, deadlineSignal, heartbeat, previousAttempt } from '../context.ts';
import { httpUrl } from '../http/checks.ts';
import { businessFailure, reason } from '../../definitions/failures.ts';
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
 * With `confirmVia`, it then waits for answers from the new servers through that http target
 * (confirmUpstream); when they do not come, the new upstream stays and the failure says so.
 */
export async function switchUpstream(call: ActionCall<'nginx.switch-upstream'>, deps: Pick<ActionDeps, 'nginxBin'> = {}) {
  const binary = deps.nginxBin ?? 'nginx';
  const target = stepTarget(call, 'nginx');
  const { upstream, servers, confirmVia, confirm } = call.input;
  const context = `nginx.switch-upstream ${target.name} (upstream ${upstream})`;
  // Resolved before anything changes: a front target that cannot be used fails the step first.
  const front = confirmVia === undefined ? undefined : referencedTarget(call, confirmVia, 'http');
  const frontUrl = front === undefined ? undefined : httpUrl(front, confirm.path);
  const file = resolve(target.spec.prefix, target.spec.upstreamFile);
  const before = await readIfPresent(file);
  const current = before === undefined ? undefined : parseUpstream(before, upstream);
  const previous = previousAttempt(Remembered)?.previous ?? current?.servers ?? [];
  // Known before anything changes: a retry, or the compensation of an interrupted step, restores it.
  heartbeat({ previous });
  const confirmed = async (changed: boolean) => {
    if (front === undefined || frontUrl === undefined) return { previous, servers, changed };
    const state = changed
      ? `nginx was reloaded with the new servers and keeps them; the servers before were ${previous.join(', ') || 'none'}`
      : 'the upstream already had these servers, so nothing was changed';
    return { previous, servers, changed, confirmed: await confirmUpstream({ context, front: front.name, url: frontUrl, servers, confirm, state }) };
  };
  if (current !== undefined && sameServers(current.servers, servers)) return confirmed(false);
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
  return confirmed(true);
}

function sameServers(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((server, index) => server === right[index]);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Each `host:port` as nginx reports it in $upstream_addr: a name stands for every address it resolves to. */
async function upstreamAddresses(servers: readonly string[]): Promise<Set<string>> {
  const addresses = new Set(servers);
  for (const server of servers) {
    const [host = '', port = ''] = server.split(/:(?=\d+$)/);
    if (isIP(host) !== 0) continue;
    const resolved = await lookup(host, { all: true }).catch(() => []);
    for (const { address, family } of resolved) addresses.add(family === 6 ? `[${address}]:${port}` : `${address}:${port}`);
  }
  return addresses;
}

/** Who answered one request: the server nginx last tried (the one that answered), or why none is named. */
async function answeredBy(url: string, header: string, timeoutMs: number): Promise<string> {
  try {
    const response = await fetch(url, { signal: deadlineSignal(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    // `10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80` when nginx tried several servers or upstreams.
    const named = response.headers.get(header)?.split(/\s*,\s*|\s+:\s+/).pop()?.trim();
    return named ? named : `${response.status} without ${header}`;
  } catch (error) {
    return `no answer (${reason(error)})`;
  }
}

interface Confirmation {
  context: string;
  /** The http target's name, for messages (its URL may carry a token). */
  front: string;
  url: string;
  servers: readonly string[];
  confirm: { path: string; consecutive: number; header: string; within: string };
  /** What the failure says about nginx: what changed and what was there before. */
  state: string;
}

const CONFIRM_PAUSE_MS = 20;

/**
 * Requests the front URL until `consecutive` answers in a row name one of the new servers in the
 * header; an answer from anything else (old workers drain for a moment after a reload) starts
 * the count again. Returns when that answer arrived and how many answers came from each server.
 */
async function confirmUpstream({ context, front, url, servers, confirm, state }: Confirmation) {
  const { path, consecutive, header, within } = confirm;
  const wanted = await upstreamAddresses(servers);
  const cancelled = cancellationSignal();
  const deadline = Date.now() + durationMs(within);
  const answers: Record<string, number> = {};
  let streak = 0;
  while (Date.now() < deadline) {
    const answer = await answeredBy(url, header, Math.min(2_000, Math.max(100, deadline - Date.now())));
    if (cancelled?.aborted) throw cancelled.reason;
    answers[answer] = (answers[answer] ?? 0) + 1;
    streak = wanted.has(answer) ? streak + 1 : 0;
    if (streak >= consecutive) return { at: new Date().toISOString(), answers, consecutive };
    heartbeat();
    await delay(CONFIRM_PAUSE_MS, undefined, { signal: cancelled }).catch((error: unknown) => {
      throw cancelled?.aborted ? cancelled.reason : error;
    });
  }
  const seen = Object.entries(answers).map(([answer, count]) => `${answer} ×${count}`).join(', ') || 'none';
  throw businessFailure(
    `${context}: no ${consecutive} answers in a row from ${servers.join(', ')} through ${front} (GET ${path}, header ${header}) ` +
      `within ${within}; answers: ${seen}. ${state}`,
    'NotConfirmed',
  );
}
