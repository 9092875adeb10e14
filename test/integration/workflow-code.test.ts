import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it, inject } from 'vitest';
import { WORKFLOWS_PATH } from '../../runtime/workflows-path.ts';
import { quietWorkerLogs } from '../support/engine.ts';

const HISTORIES = fileURLToPath(new URL('../histories/', import.meta.url));
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('workflow code', () => {
  it('bundles for the worker sandbox', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
    expect(code).toContain('runbookWorkflow');
  });

  it('a Node built-in imported into workflow code fails the bundle, naming the module', async () => {
    const workflowsPath = fileURLToPath(new URL('../fixtures/workflow-with-io.ts', import.meta.url));
    const errors: string[] = [];
    await expect(bundleWorkflowCode({ workflowsPath, logger: { ...silent, error: (message: string) => errors.push(message) } })).rejects.toThrow('Webpack finished with errors');
    expect(errors.join('\n')).toMatch(/'node:fs'|"node:fs"|node:fs/);
  });

  it('replays every checked-in history without a nondeterminism error', async () => {
    quietWorkerLogs();
    const files = (await readdir(HISTORIES)).filter((name) => name.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const histories = await Promise.all(files.map(async (file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(await readFile(`${HISTORIES}${file}`, 'utf8'))),
    })));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
      results.push({ file: result.workflowId, error: result.error?.message });
    }
    expect(results).toEqual(files.map((file) => ({ file, error: undefined })));
  });
});
