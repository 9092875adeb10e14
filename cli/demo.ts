import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { loadConfig } from '../config/env.ts';
import { loadRunbook } from '../definitions/load.ts';
import { parseRoles } from '../definitions/roles.ts';
import { connectClient, createPool, type Endpoints } from '../runtime/connections.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../runtime/embedded.ts';
import { createLogger, installTemporalRuntime } from '../runtime/logger.ts';
import { UserError, sendControl, startRunbookRun, waitForRun, waitForState } from '../runtime/runs.ts';
import { startServices } from '../runtime/services.ts';
import { readLiveStack } from '../runtime/stack-file.ts';
import { ensureDatabase } from '../stack/postgres.ts';
import { createPgRunStore, type RunStore } from '../store/runs.ts';
import type { RunState } from '../workflows/definitions.ts';
import { formatRunState, formatTimeline } from './format-run.ts';

const RUNBOOK = 'runbooks/orders-restore-demo.yaml';
const RUNBOOK_FILE = fileURLToPath(new URL(`../${RUNBOOK}`, import.meta.url));
const TASK_QUEUE = 'golive-demo';
/** The demo's people: an SRE who starts runs and an incident commander who approves them. */
const ROLES = parseRoles('sam=release-manager,ivan=incident-commander');
const ORDERS = 20_000;

const say = (text: string) => console.log(`\n== ${text}`);

/** A sample orders database next to golive's own, and the environment the demo runbook names. */
async function prepareSampleData(databaseUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const ordersUrl = await ensureDatabase(admin.toString(), 'orders_demo');
  const orders = new pg.Client({ connectionString: ordersUrl });
  await orders.connect();
  try {
    await orders.query('CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, customer text NOT NULL, total_cents integer NOT NULL, placed_at timestamptz NOT NULL)');
    await orders.query(
      `INSERT INTO orders SELECT n, 'customer-' || (n % 997), (n * 37) % 100000, now() - n * interval '1 minute'
       FROM generate_series(1, $1) AS n ON CONFLICT (id) DO NOTHING`,
      [ORDERS],
    );
  } finally {
    await orders.end();
  }
  const recovered = new URL(admin);
  recovered.pathname = '/orders_recovery';
  Object.assign(process.env, { DEMO_ORDERS_URL: ordersUrl, DEMO_RECOVERY_SERVER_URL: admin.toString(), DEMO_RECOVERED_URL: recovered.toString() });
}

async function approveAsBoth(stack: { client: Client; store: RunStore }, runId: string): Promise<void> {
  await waitForState(stack.client, runId, (state) => state.status === 'waiting-approval');
  console.log(`run waits at gate approve-restore; sam (who started it) tries to approve:`);
  await sendControl(stack, runId, 'approve', { actor: 'sam' }).catch((error: Error) => console.log(`  refused: ${error.message}`));
  console.log('ivan (incident-commander) approves, through the same update as `golive approve RUN --as ivan`:');
  console.log(`  ${await sendControl(stack, runId, 'approve', { actor: 'ivan', comment: 'restore drill, go' })}`);
  await waitForState(stack.client, runId, (state) => state.currentStep === 'observe');
}

async function showRun(stack: { client: Client; store: RunStore }, runId: string): Promise<RunState> {
  const state = await waitForRun(stack.client, stack.store, runId);
  console.log(`\n${formatRunState(state)}\n\ntimeline (audit trail):\n${formatTimeline(await stack.store.events(runId))}`);
  return state;
}

async function tellTheStory(endpoints: Endpoints): Promise<boolean> {
  const config = loadConfig();
  const runbook = await loadRunbook(RUNBOOK_FILE);
  const client = await connectClient(config, endpoints.temporalAddress);
  const pool = createPool(endpoints.databaseUrl);
  const stack = { client, store: createPgRunStore(pool) };
  try {
    const start = () => startRunbookRun(client, { runbook, requestedBy: 'sam', roles: ROLES, taskQueue: TASK_QUEUE, source: RUNBOOK });

    say(`run 1: ${RUNBOOK}, started by sam, approved by ivan, observation pause ended early`);
    const first = await start();
    console.log(`started ${first}`);
    await approveAsBoth(stack, first);
    console.log(`the copy is verified; ivan ends the observation pause: ${await sendControl(stack, first, 'resume', { actor: 'ivan' })}`);
    const firstState = await showRun(stack, first);

    say('run 2: the same runbook, aborted during the observation pause: the restore is compensated');
    const second = await start();
    console.log(`started ${second}`);
    await approveAsBoth(stack, second);
    console.log(`ivan aborts: ${await sendControl(stack, second, 'abort', { actor: 'ivan', comment: 'demo: abort after restore' })}`);
    const secondState = await showRun(stack, second);

    const rolledBack = secondState.rollback.every((step) => step.status === 'succeeded') && secondState.rollback.length > 0;
    say(`result: run 1 ${firstState.status}, run 2 ${secondState.status}${rolledBack ? ' and rolled back' : ''}`);
    console.log('list them again with `golive runs` while `golive dev` runs; the state is kept in .golive/');
    return firstState.status === 'succeeded' && secondState.status === 'aborted' && rolledBack;
  } finally {
    await client.connection.close();
    await pool.end();
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the demo runbook through the engine on the embedded stack (or a running `golive dev`) and print its timeline')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger('error', 'golive-demo');
      installTemporalRuntime(logger, 'error');
      const live = readLiveStack(config.home);
      let embedded: EmbeddedStack | undefined;
      if (live) {
        say(`using the golive dev stack already running here (pid ${live.pid})`);
      } else {
        say('starting the embedded stack (Temporal dev server + Postgres; state in .golive/)');
        embedded = await startEmbeddedStack(config);
        console.log(embedded.notes.map((note) => `  ${note}`).join('\n'));
      }
      const endpoints: Endpoints = live ?? embedded!;
      try {
        await prepareSampleData(endpoints.databaseUrl);
        console.log(`sample database orders_demo holds ${ORDERS} orders`);
        const services = await startServices(config, endpoints, { worker: true, http: false, taskQueue: TASK_QUEUE, logger });
        try {
          if (!(await tellTheStory(endpoints))) throw new UserError('the demo did not end as expected; see the timelines above');
        } finally {
          await services.stop();
        }
      } finally {
        await embedded?.stop();
      }
    });
}
