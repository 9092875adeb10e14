import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseUpstream } from '../../activities/nginx/upstream.ts';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { RUNBOOK_WORKFLOW, type RunbookRunInput } from '../../workflows/definitions.ts';
import { testActivities } from '../support/actions.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, fakeActions, runbook, settledEvents, type EngineHarness } from '../support/engine.ts';
import { startNginx, type NginxFixture } from '../support/nginx.ts';
import { until } from '../support/poll.ts';

/**
 * An abort that lands while nginx is being switched waits until the switch has really stopped,
 * treats it as maybe applied and runs its compensation: the upstream ends as it was before the run.
 */

let harness: EngineHarness;
let nginx: NginxFixture;
let slowBin: string;

beforeAll(async () => {
  const binary = requireTool(loadToolchain(), 'nginx');
  nginx = await startNginx(binary);
  // The worker's nginx takes a second per command, so the abort lands mid-switch.
  slowBin = join(await mkdtemp(join(tmpdir(), 'golive-slow-nginx-')), 'nginx');
  await writeFile(slowBin, `#!/bin/sh\nsleep 1\nexec ${binary} "$@"\n`);
  await chmod(slowBin, 0o755);
  harness = await createEngineHarness('abort_nginx');
  await harness.startWorker({ ...fakeActions([]), 'nginx.switch-upstream': testActivities({}, { nginxBin: slowBin })['nginx.switch-upstream'] });
});

afterAll(async () => {
  await harness?.close();
  await nginx?.stop();
  await rm(join(slowBin, '..'), { recursive: true, force: true });
});

const servedBy = async () => fetch(nginx.url).then((response) => response.text());
const upstreamServers = async () => parseUpstream(await readFile(join(nginx.target.prefix, nginx.target.upstreamFile), 'utf8'), 'app')?.servers;

it('abort during an nginx switch leaves the upstream as it was before the run', async () => {
  const input: RunbookRunInput = {
    runbook: runbook({
      targets: { edge: nginx.target },
      steps: [{ id: 'switch-traffic', action: 'nginx.switch-upstream', target: 'edge', with: { upstream: 'app', servers: [nginx.backends.green.address] } }],
      rollback: [{
        id: 'restore-traffic', compensates: 'switch-traffic', action: 'nginx.switch-upstream', target: 'edge',
        with: { upstream: 'app', servers: '{{steps.switch-traffic.previous}}' },
      }],
    }),
    requestedBy: 'rita',
    channel: 'cli',
  };
  expect(await servedBy()).toBe('blue');
  const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('switch'), taskQueue: harness.taskQueue, args: [input] });
  await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'switch-traffic' && state.status === 'running');
  await until(async () => ((await upstreamServers())?.[0] === nginx.backends.green.address ? true : undefined), 5_000, 'the switch never wrote the new upstream');

  expect(await sendControl(harness, handle.workflowId, 'abort', { actor: 'ivan', channel: 'cli', comment: 'wrong site' })).toContain('aborted');
  await handle.result().catch(() => undefined);

  const state = (await harness.store.getRun(handle.workflowId))!.state;
  expect(state.status).toBe('aborted');
  expect(state.steps[0]).toMatchObject({ id: 'switch-traffic', status: 'interrupted' });
  expect(state.rollback.map((step) => [step.id, step.status])).toEqual([['restore-traffic', 'succeeded']]);
  expect(await upstreamServers()).toEqual([nginx.backends.blue.address]);
  for (let answer = 0; answer < 5; answer += 1) expect(await servedBy()).toBe('blue');
  const actions = (await settledEvents(harness, handle.workflowId)).map((event) => `${event.action}${event.stepId ? `:${event.stepId}` : ''}`);
  expect(actions).toEqual(expect.arrayContaining(['control.aborted', 'step.interrupted:switch-traffic', 'step.started:restore-traffic', 'step.succeeded:restore-traffic']));
}, 60_000);
