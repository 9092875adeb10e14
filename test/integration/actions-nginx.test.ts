import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInput } from '../../activities/call.ts';
import { switchUpstream } from '../../activities/nginx/upstream.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startNginx, type NginxFixture } from '../support/nginx.ts';
import { until } from '../support/poll.ts';

let activities: ReturnType<typeof testActivities>;
let nginx: NginxFixture;

const switchTo = (servers: string[]) =>
  actionRequest('nginx.switch-upstream', { upstream: 'app', servers }, { target: { name: 'edge', spec: nginx.target } });

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
