import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Config } from '../config/env.ts';
import { loadRunbook } from '../definitions/load.ts';
import { startFailoverStage } from '../runtime/failover-stage.ts';
import { startFailover } from '../runtime/failovers.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { sendControl, waitForState } from '../runtime/runs.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { getFailover } from '../store/failovers.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import type { RunStore } from '../store/runs.ts';
import { FINISHED, type FailoverRecord } from '../workflows/definitions.ts';
import { formatFailover } from './format-failover.ts';
import { formatTimeline } from './format-run.ts';

const RUNBOOK = 'runbooks/orders-failover-demo.yaml';
/** The demo's own incident commanders: one declares the failover, the other approves it (four-eyes). */
const COMMANDER = 'demo-commander';
const APPROVER = 'demo-approver';
/** Orders placed before the primary dies. */
const WRITING_MS = 3_000;

const say = (text: string) => console.log(`\n== ${text}`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The nginx the stage runs and the worker switches: GOLIVE_NGINX_BIN when set, else the one the bootstrap found. */
export function demoNginx(config: Config): string {
  return config.tools.nginxBin === 'nginx' ? requireTool(loadToolchain(config.tools), 'nginx') : config.tools.nginxBin;
}

interface FailoverChapter {
  config: Config;
  client: Client;
  pool: pg.Pool;
  store: RunStore;
  taskQueue: string;
}

/** Waits until the record of a finished failover is in golive's Postgres (it lands with the last audit batch). */
async function finalRecord(pool: pg.Pool, runId: string): Promise<FailoverRecord> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    const record = await getFailover(pool, runId);
    if (record && FINISHED.includes(record.status)) return record;
    await sleep(100);
  }
  throw new Error(`the record of failover ${runId} did not reach golive's Postgres within 30s; see \`golive failover status ${runId}\``);
}

/**
 * The failover story: a primary and a streaming standby with an app server on each behind nginx,
 * a writer placing orders, the primary killed, the failover declared by one incident commander
 * and approved by another through the normal control, then the record and the orders lost.
 */
export async function tellTheFailover({ config, client, pool, store, taskQueue }: FailoverChapter): Promise<boolean> {
  say(`failover: a primary and a streaming standby, site-a and site-b behind nginx, a writer placing orders (\`${RUNBOOK}\`)`);
  const stage = await startFailoverStage({
    home: join(config.home, 'failover'),
    pgBin: requireTool(loadToolchain(config.tools), 'pgBin'),
    nginxBin: demoNginx(config),
  });
  try {
    Object.assign(process.env, stage.env);
    console.log(`edge ${stage.edgeUrl} → site-a (${stage.sites.a}, on the primary); site-b (${stage.sites.b}) waits on the standby`);
    const identity = createPgIdentityStore(pool);
    for (const user of [COMMANDER, APPROVER]) await identity.grantRole(user, 'incident-commander', { name: 'golive demo', channel: 'cli' });
    console.log(`${COMMANDER} and ${APPROVER} hold incident-commander in this demo's database (\`golive roles list\`)`);
    await sleep(WRITING_MS);

    const killedAt = await stage.killPrimary();
    say(`the primary is gone (pg_ctl stop -m immediate at ${killedAt.toISOString()}); ${COMMANDER} declares the failover`);
    const runbook = await loadRunbook(fileURLToPath(new URL(`../${RUNBOOK}`, import.meta.url)));
    const roles = createRoleDirectory(config.roles, identity);
    const runId = await startFailover(client, roles, {
      runbook, requestedBy: COMMANDER, channel: 'cli', taskQueue, source: RUNBOOK, reason: 'the primary database host is gone',
    });
    console.log(`started failover ${runId} (\`golive failover start ${RUNBOOK} --reason …\`)`);
    const atGate = await waitForState(client, runId, (state) => state.gate !== undefined || FINISHED.includes(state.status));
    if (atGate.gate) {
      console.log(`pre-flight measured the exposure from the standby alone; the run waits at gate ${atGate.gate.stepId}`);
      console.log(await sendControl({ client, store, taskQueue }, runId, 'approve', { actor: APPROVER, channel: 'cli', comment: 'primary host confirmed lost' }));
    }
    await client.workflow.getHandle(runId).result().catch(() => undefined);
    const record = await finalRecord(pool, runId);
    const acked = await stage.writer.stop();

    say(`the failover record (\`golive failover status ${runId}\`)`);
    console.log(formatFailover(record));
    say(`its audit trail (\`golive timeline ${runId}\`)`);
    console.log(formatTimeline(await store.events(runId)));
    const { committedBeforeTd, lost } = await stage.rowsLost(acked, new Date(record.declaredAt));
    say('orders acknowledged to the writer before T_d, and found on the new primary');
    console.log(`${committedBeforeTd} acknowledged before T_d; ${lost.length} missing on the new primary${lost.length > 0 ? ` (ids ${lost.join(', ')})` : ''}`);
    return record.status === 'succeeded';
  } finally {
    await stage.stop();
  }
}
