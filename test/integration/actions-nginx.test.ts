import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInput } from '../../activities/call.ts';
import { switchUpstream } from '../../activities/nginx/upstream.ts';
import type { Target } from '../../definitions/targets.ts';
import { freePort } from '../../stack/process.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startNginx, type NginxFixture } from '../support/nginx.ts';
import { until } from '../support/poll.ts';

let activities: ReturnType<typeof testActivities>;
let nginx: NginxFixture;

const switchTo = (servers: string[]) =>
  actionRequest('nginx.switch-upstream', { upstream: 'app', servers }, { target: { name: 'edge', spec: nginx.target } });

/** A switch that confirms through `front` (by default the proxy itself, as clients reach it). */
const switchConfirmed = (servers: string[], confirm: Record<string, unknown> = {}, front: Target = nginx.front) =>
  actionRequest('nginx.switch-upstream', { upstream: 'app', servers, confirmVia: 'front', confirm }, {
    target: { name: 'edge', spec: nginx.target },
    targets: { front },
  });

const upstreamFile = () => readFile(join(nginx.target.prefix, nginx.target.upstreamFile), 'utf8');

/**
 * Resolves once `count` answers in a row come from `backend`. Old workers drain for a moment
 * after a reload and close kept-alive connections, so a failed request only resets the streak.
 */
async function consecutiveAnswers(backend: string, count = 5): Promise<void> {
  let streak = 0;
  await until(async () => {
    const body = await fetch(nginx.url).then((response) => response.text(), () => 'no answer');
    streak = body === backend ? streak + 1 : 0;
    return streak >= count ? true : undefined;
  }, 10_000, `nginx never answered ${count} times in a row from ${backend}`, 10);
}

beforeAll(async () => {
  nginx = await startNginx(requireTool(loadToolchain(), 'nginx'));
  activities = testActivities({}, { nginxBin: nginx.binary });
});

afterAll(async () => {
  await nginx?.stop();
});

describe('nginx.switch-upstream', () => {
  it('moves traffic to the new servers and reports the previous ones', async () => {
    await consecutiveAnswers('blue');
    const reloadsBefore = await nginx.reloads();
    const result = await activities['nginx.switch-upstream'](switchTo([nginx.backends.green.address]));
    expect(result).toEqual({ previous: [nginx.backends.blue.address], servers: [nginx.backends.green.address], changed: true });
    await consecutiveAnswers('green');
    expect(await nginx.reloads()).toBe(reloadsBefore + 1);
    const file = await readFile(join(nginx.target.prefix, nginx.target.upstreamFile), 'utf8');
    expect(file).toContain('keepalive 4;');
  });

  it('reloads nothing when the upstream already has those servers', async () => {
    const before = await nginx.reloads();
    const result = await activities['nginx.switch-upstream'](switchTo([nginx.backends.green.address]));
    expect(result).toEqual({ previous: [nginx.backends.green.address], servers: [nginx.backends.green.address], changed: false });
    expect(await nginx.reloads()).toBe(before);
  });

  it('on a retry after its own switch, reports the servers from before the first attempt', async () => {
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { previous: [nginx.backends.blue.address] } });
    const result = await retry.run(activities['nginx.switch-upstream'], switchTo([nginx.backends.green.address]));
    expect(result).toMatchObject({ previous: [nginx.backends.blue.address], changed: false });
  });

  it('puts the old file back and fails when nginx rejects the new upstream', async () => {
    const file = join(nginx.target.prefix, nginx.target.upstreamFile);
    const before = await readFile(file, 'utf8');
    const failing = activities['nginx.switch-upstream'](switchTo(['127.0.0.1:99999']));
    await expect(failing).rejects.toMatchObject({
      type: 'ConfigInvalid',
      nonRetryable: true,
      message: expect.stringMatching(/^nginx\.switch-upstream edge \(upstream app\): nginx -t rejected the new upstream, the previous file is back: .*invalid port/),
    });
    expect(await readFile(file, 'utf8')).toBe(before);
    await consecutiveAnswers('green');
  });

  it('rolls back by switching to the reported previous servers', async () => {
    await activities['nginx.switch-upstream'](switchTo([nginx.backends.blue.address]));
    await consecutiveAnswers('blue');
  });

  it('runs the nginx the worker is configured with (ActionDeps.nginxBin), never one the target names', async () => {
    const request = switchTo([nginx.backends.green.address]);
    const file = join(nginx.target.prefix, nginx.target.upstreamFile);
    const before = await readFile(file, 'utf8');
    const elsewhere = switchUpstream(parseInput('nginx.switch-upstream', request, {}), { nginxBin: '/nonexistent/nginx' });
    await expect(elsewhere).rejects.toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
      message: 'nginx.switch-upstream edge (upstream app): no nginx at /nonexistent/nginx on this worker (GOLIVE_NGINX_BIN); the previous file is back',
    });
    expect(await readFile(file, 'utf8')).toBe(before);
    const configured = await switchUpstream(parseInput('nginx.switch-upstream', request, {}), { nginxBin: nginx.binary });
    expect(configured).toMatchObject({ servers: [nginx.backends.green.address], changed: true });
    await consecutiveAnswers('green');
  });
});

describe('nginx.switch-upstream with confirmVia', () => {
  it('waits for answers in a row from the new servers through the proxy, and reports who answered', async () => {
    const [from, to] = [nginx.backends.green.address, nginx.backends.blue.address];
    const started = Date.now();
    const result = await activities['nginx.switch-upstream'](switchConfirmed([to], { consecutive: 5 }));
    expect(result).toEqual({
      previous: [from],
      servers: [to],
      changed: true,
      confirmed: { at: expect.any(String), answers: expect.objectContaining({ [to]: expect.any(Number) }), consecutive: 5 },
    });
    const { answers, at } = result.confirmed as { answers: Record<string, number>; at: string };
    expect(answers[to]).toBeGreaterThanOrEqual(5);
    expect(Object.keys(answers).every((answer) => answer === to || answer === from || answer.startsWith('no answer'))).toBe(true);
    expect(Date.parse(at)).toBeGreaterThanOrEqual(started);
    await consecutiveAnswers('blue');
  });

  it('confirms the servers already in place without reloading', async () => {
    const before = await nginx.reloads();
    const result = await activities['nginx.switch-upstream'](switchConfirmed([nginx.backends.blue.address], { consecutive: 3 }));
    expect(result).toMatchObject({ changed: false, confirmed: { answers: { [nginx.backends.blue.address]: 3 }, consecutive: 3 } });
    expect(await nginx.reloads()).toBe(before);
  });

  it('fails with NotConfirmed when the front cannot be reached, and leaves the new upstream in place, saying so', async () => {
    const [from, to] = [nginx.backends.blue.address, nginx.backends.green.address];
    const unreachable = { type: 'http', url: `http://127.0.0.1:${await freePort()}` } as const;
    const started = Date.now();
    const failing = activities['nginx.switch-upstream'](switchConfirmed([to], { within: '1s' }, unreachable));
    await expect(failing).rejects.toMatchObject({
      type: 'NotConfirmed',
      nonRetryable: true,
      message: expect.stringMatching(new RegExp(
        `^nginx\\.switch-upstream edge \\(upstream app\\): no 5 answers in a row from ${to} through front \\(GET /, header x-upstream-addr\\) within 1s; ` +
          `answers: no answer \\(connect ECONNREFUSED [\\d.:]+\\) ×\\d+\\. nginx was reloaded with the new servers and keeps them; the servers before were ${from}$`,
      )),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await upstreamFile()).toContain(`server ${to};`);
    await consecutiveAnswers('green');
  });

  it('fails with NotConfirmed when answers do not name a server (the front bypasses the proxy)', async () => {
    const bypass = { type: 'http', url: nginx.backends.green.url } as const;
    const failing = activities['nginx.switch-upstream'](switchConfirmed([nginx.backends.green.address], { within: '500ms' }, bypass));
    await expect(failing).rejects.toMatchObject({
      type: 'NotConfirmed',
      message: expect.stringMatching(/; answers: 200 without x-upstream-addr ×\d+\. the upstream already had these servers, so nothing was changed$/),
    });
  });

  it('refuses a confirmVia target that was not passed, before changing anything', async () => {
    const before = await upstreamFile();
    const request = switchConfirmed([nginx.backends.blue.address]);
    const failing = activities['nginx.switch-upstream']({ ...request, targets: {} });
    await expect(failing).rejects.toMatchObject({ type: 'InvalidTarget', message: 'nginx.switch-upstream step nginx-switch-upstream: target front was not passed to the step' });
    expect(await upstreamFile()).toBe(before);
  });
});
