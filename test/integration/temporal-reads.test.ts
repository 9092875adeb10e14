import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/env.ts';
import { StackUnavailable } from '../../runtime/errors.ts';
import { connectTemporalReads, fromPayload, type TemporalReads } from '../../runtime/temporal-reads.ts';
import { RUNBOOK_WORKFLOW, stateQuery, type RunbookRunInput, type RunState } from '../../workflows/definitions.ts';
import { uniqueId } from '../support/db.ts';
import { createEngineHarness, fakeActions, runbook, type EngineHarness } from '../support/engine.ts';
import { until } from '../support/poll.ts';

let harness: EngineHarness;
let reads: TemporalReads;
const config = () => loadConfig({ GOLIVE_HOME: '/nonexistent' });

beforeAll(async () => {
  harness = await createEngineHarness('reads');
  await harness.startWorker(fakeActions([]));
  reads = connectTemporalReads(config(), inject('temporalAddress'));
});

afterAll(async () => {
  reads?.close();
  await harness.close();
});

describe("Temporal's quick reads: a query and the server version over plain gRPC", () => {
  it('answers the state query of a waiting run exactly as the Temporal client does', async () => {
    const input: RunbookRunInput = {
      runbook: runbook({ steps: [{ id: 'before', action: 'noop' }, { id: 'approve', approval: { approvers: ['incident-commander'], timeout: '1h', message: 'go?' } }] }),
      requestedBy: 'rita', channel: 'cli',
    };
    const handle = await harness.client.workflow.start(RUNBOOK_WORKFLOW, { workflowId: uniqueId('reads'), taskQueue: harness.taskQueue, args: [input] });
    const viaClient = await until(async () => {
      const state = await handle.query(stateQuery);
      return state.gate ? state : undefined;
    }, 20_000, 'the run never reached its gate');
    const viaReads = await reads.query<RunState>(handle.workflowId, stateQuery.name);
    expect(viaReads).toEqual(viaClient);
    expect(viaReads?.gate).toMatchObject({ stepId: 'approve', approvers: ['incident-commander'], message: 'go?' });
    await handle.terminate('test over');
  });

  it('answers undefined for a workflow Temporal does not have, and names the server version', async () => {
    expect(await reads.query(uniqueId('nosuch'), stateQuery.name)).toBeUndefined();
    expect(await reads.serverVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('says Temporal is unreachable as StackUnavailable', async () => {
    const nowhere = connectTemporalReads(config(), '127.0.0.1:1');
    try {
      await expect(nowhere.query('x', stateQuery.name)).rejects.toBeInstanceOf(StackUnavailable);
    } finally {
      nowhere.close();
    }
  }, 20_000);

  it('reads the JSON and null payloads of the default converter, and refuses others by name', () => {
    const payload = (encoding: string, data?: string) => ({ metadata: { encoding: Buffer.from(encoding) }, data: data === undefined ? undefined : Buffer.from(data) });
    expect(fromPayload(payload('json/plain', '{"a":[1,"b"]}'))).toEqual({ a: [1, 'b'] });
    expect(fromPayload(payload('binary/null'))).toBeUndefined();
    expect(() => fromPayload(payload('binary/protobuf', 'x'))).toThrow('binary/protobuf payload');
  });

  it('keeps its message types in step with the installed @temporalio/proto', () => {
    const script = fileURLToPath(new URL('../../scripts/temporal-read-protos.mjs', import.meta.url));
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('matches @temporalio/proto');
  });
});
