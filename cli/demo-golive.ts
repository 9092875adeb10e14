import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { z } from 'zod';
import type { Config } from '../config/env.ts';
import { durationMs, formatMeasured } from '../definitions/duration.ts';
import { loadRolloutPlan } from '../definitions/load.ts';
import type { RolloutPlan } from '../definitions/schema.ts';
import { createRoleDirectory } from '../runtime/roles.ts';
import { startRolloutStage, type RolloutStage } from '../runtime/rollout-stage.ts';
import { planChecklist, startRollout } from '../runtime/rollouts.ts';
import { sendControl } from '../runtime/runs.ts';
import { loadToolchain, requireTool } from '../stack/toolchain.ts';
import { createFlagStore } from '../store/flags.ts';
import { createPgIdentityStore } from '../store/identity.ts';
import { getChecklistRun, getRollout } from '../store/run-records.ts';
import type { RunStore } from '../store/runs.ts';
import { ROLLOUT_FINISHED, rolloutQuery, type ChecklistRecord, type RolloutRecord } from '../workflows/definitions.ts';
import { formatChecklist, itemChanges } from './format-checklist.ts';
import { formatRollout } from './format-rollout.ts';
import { formatTimeline } from './format-run.ts';

const PLAN = 'rollouts/orders-new-checkout-demo.yaml';
/** The checklists shipped with golive: the demo's gate is read from here whatever folder the demo runs in. */
const CHECKLISTS_DIR = fileURLToPath(new URL('../checklists', import.meta.url));
/** The demo's release managers: one starts the rollout, the other signs the gate's items off (four-eyes). */
const RELEASE_MANAGER = 'demo-release-manager';
const APPROVER = 'demo-approver';
const DEMO_ACTOR = { name: 'golive demo', channel: 'cli' } as const;

const say = (text: string) => console.log(`\n== ${text}`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface GoLiveChapter {
  config: Config;
  client: Client;
  pool: pg.Pool;
  store: RunStore;
  taskQueue: string;
  /** golive's HTTP server, started by the demo: the app evaluates its flag there over OFREP. */
  serverUrl: string;
  logger: { info(message: string): void; warn(message: string): void };
}

/** Calls `probe` until it returns a value; fails naming `what` after `timeoutMs`. */
async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(100)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000}s`);
  }
}

/** The fields of golive.dr-evidence's result the DR item's line names (activities/evidence/dr.ts). */
const DrEvidence = z.object({
  lastDrill: z.object({ runId: z.string(), status: z.string() }).nullable(),
  lastPassedDrill: z.object({ age: z.string() }).nullable(),
  backup: z.object({ backupId: z.string(), age: z.string() }).nullable(),
  objectives: z.object({ rpo: z.string(), rto: z.string() }).nullable(),
});

/** `restore-tested: proven by drill X, passed 40s ago; newest backup Y, 50s old (RPO 5m)`: the DR item's evidence in words. */
function drEvidenceLine(record: ChecklistRecord): string | undefined {
  const item = record.items.find((candidate) => candidate.action === 'golive.dr-evidence');
  const evidence = DrEvidence.safeParse(item?.evidence).data;
  if (!item || !evidence) return undefined;
  const drill = evidence.lastDrill ? `drill ${evidence.lastDrill.runId} (${evidence.lastDrill.status}${evidence.lastPassedDrill ? `, passed ${evidence.lastPassedDrill.age} ago` : ''})` : 'no drill';
  const backup = evidence.backup ? `newest backup ${evidence.backup.backupId}, ${evidence.backup.age} old` : 'no backup';
  const objectives = evidence.objectives ? ` (RPO ${evidence.objectives.rpo}, RTO ${evidence.objectives.rto})` : '';
  return `${item.id} (${item.status}): ${drill}; ${backup}${objectives}: the drill this demo just ran`;
}

/**
 * The gate, as the release managers see it: the automatic items decided on their evidence, then
 * the sign-offs given by the second release manager through the normal approve control.
 */
async function passTheGate(chapter: GoLiveChapter, gateId: string): Promise<ChecklistRecord> {
  let seen: ChecklistRecord | undefined;
  const report = (record: ChecklistRecord) => {
    for (const line of itemChanges(seen, record)) console.log(`  ${line}`);
    seen = record;
  };
  const checked = await poll(async () => {
    const record = await getChecklistRun(chapter.pool, gateId);
    if (record) report(record);
    const decided = record?.items.every((item) => item.verification === 'sign-off' || item.status === 'passed' || item.status === 'failed');
    return record && (decided || record.status !== 'running') ? record : undefined;
  }, 60_000, `the gate ${gateId} did not decide its automatic items`);
  const dr = drEvidenceLine(checked);
  if (dr) console.log(`\n${dr}`);
  say(`${APPROVER} signs the sign-off items off (\`golive checklist sign-off ${gateId} ITEM\`); four-eyes: never ${RELEASE_MANAGER}, who asked`);
  for (const item of checked.items.filter((candidate) => candidate.status === 'waiting-sign-off')) {
    console.log(await sendControl(chapter, gateId, 'approve', { actor: APPROVER, channel: 'cli', stepId: item.id, comment: 'checked with the team' }));
  }
  const final = await poll(async () => {
    const record = await getChecklistRun(chapter.pool, gateId);
    if (record) report(record);
    return record?.status === 'running' ? undefined : record;
  }, 60_000, `the gate ${gateId} did not finish`);
  say(`the gate's record (\`golive checklist status ${gateId}\`)`);
  console.log(formatChecklist(final));
  return final;
}

/** The rollout as its workflow answers now, once `ready` holds (or it ended). */
function watch(chapter: GoLiveChapter, runId: string, ready: (record: RolloutRecord) => boolean, what: string): Promise<RolloutRecord> {
  const handle = chapter.client.workflow.getHandle(runId);
  return poll(async () => {
    const record = await handle.query(rolloutQuery);
    return ready(record) || ROLLOUT_FINISHED.includes(record.status) ? record : undefined;
  }, 120_000, `rollout ${runId} ${what}`);
}

/** The final record, once the last audit batch has carried it into golive's Postgres. */
async function finalRecord(chapter: GoLiveChapter, runId: string): Promise<RolloutRecord> {
  await chapter.client.workflow.getHandle(runId).result().catch(() => undefined);
  return poll(async () => {
    const record = await getRollout(chapter.pool, runId);
    return record && ROLLOUT_FINISHED.includes(record.status) ? record : undefined;
  }, 30_000, `the record of rollout ${runId} did not reach golive's Postgres`);
}

const exposure = (stage: RolloutStage, from: number, to: number) => {
  const seen = stage.app.traffic(from, to);
  return `${seen.newCheckoutUsers} of ${seen.users} users on the new checkout (${seen.requests} requests, ${seen.errors} answered 5xx)`;
};

/** The floor a guard needs (interval × failureLimit) plus 2 s for a scrape and the flag write: what the rollback should take at most. */
function budgetMs(plan: RolloutPlan): { floorMs: number; budgetMs: number; text: string } {
  const guard = plan.spec.guards[0]!;
  const floorMs = durationMs(guard.interval) * guard.failureLimit;
  return { floorMs, budgetMs: floorMs + 2_000, text: `interval ${guard.interval} × failureLimit ${guard.failureLimit} + 2s = ${formatMeasured(floorMs + 2_000)}` };
}

/** Errors at 50%, and what the guard did about them: the timeline a release manager reads afterwards. */
async function breakTheNewCheckout(chapter: GoLiveChapter, stage: RolloutStage, plan: RolloutPlan, runId: string): Promise<boolean> {
  const at50 = await watch(chapter, runId, (record) => record.percent === 50 && record.guards.some((reading) => reading.ok === true && reading.at > (record.phases[1]?.startedAt ?? '')), 'never baked at 50% with a good guard reading');
  if (at50.percent !== 50) {
    console.log(formatRollout(await finalRecord(chapter, runId)));
    return false;
  }
  const [at10Start, at50Start] = [Date.parse(at50.phases[0]!.startedAt!), Date.parse(at50.phases[1]!.startedAt!)];
  console.log(`at 10%: ${exposure(stage, at10Start, at50Start)}`);
  await sleep(2_000);
  const injectedAt = stage.injectErrors(true);
  console.log(`at 50%: ${exposure(stage, at50Start, injectedAt)}`);

  say(`a bug ships with the new checkout: from ${new Date(injectedAt).toISOString()} every user on it gets a 500; the guard error-rate watches the 5xx share`);
  const backAt = await stage.waitForFlag(0, 60_000);
  const record = await finalRecord(chapter, runId);
  await sleep(3_000);
  stage.injectErrors(false);
  console.log(`while it lasted: ${exposure(stage, injectedAt, backAt)}; ${stage.app.traffic(injectedAt, backAt).failedUsers} users saw an error`);
  console.log(`after the rollback: ${exposure(stage, backAt, backAt + 3_000)}`);

  say(`the rollout's record (\`golive rollout status ${runId}\`)`);
  console.log(formatRollout(record));
  const events = await chapter.store.events(runId);
  say(`its audit trail (\`golive timeline ${runId}\`)`);
  console.log(formatTimeline(events));
  const tripped = events.find((event) => event.action === 'guard.tripped');
  const budget = budgetMs(plan);
  const tookMs = backAt - injectedAt;
  say('how fast the guard took the new checkout away');
  if (tripped) console.log(`error injection → guard tripped (audit event): ${formatMeasured(Date.parse(tripped.at) - injectedAt)}`);
  console.log(`error injection → flag back at 0% as OFREP answers it: ${formatMeasured(tookMs)} (budget ${budget.text}: ${tookMs <= budget.budgetMs ? 'met' : 'MISSED'})`);
  const { rolledBack } = record;
  return record.status === 'rolled-back' && tripped !== undefined && rolledBack?.by === 'golive' && rolledBack.from === 50 && rolledBack.to === 0;
}

/**
 * The go-live story: the new checkout of orders-demo behind golive's built-in flag, its app asking
 * golive over OFREP; the go-live checklist gates the rollout (the DR item proven by the drill the
 * demo just ran, the sign-offs by a second release manager); 10%, then 50%; then errors for users
 * on the new checkout, and the guard rolls the flag back to 0 on its own.
 */
export async function tellTheGoLive(chapter: GoLiveChapter): Promise<boolean> {
  const { config, client, pool, taskQueue } = chapter;
  const plan = await loadRolloutPlan(fileURLToPath(new URL(`../${PLAN}`, import.meta.url)));
  const { flag } = plan.spec;
  say(`go-live: the new checkout of ${plan.metadata.service} behind golive's flag ${flag.key}, gated by checklist ${plan.spec.checklist}, rolled out 10% → 50% → 100% with a guard on its error rate (\`${PLAN}\`)`);
  const identity = createPgIdentityStore(pool);
  for (const user of [RELEASE_MANAGER, APPROVER]) await identity.grantRole(user, 'release-manager', DEMO_ACTOR);
  console.log(`${RELEASE_MANAGER} and ${APPROVER} hold release-manager in this demo's database (\`golive roles list\`)`);
  const flags = createFlagStore(pool);
  const key = await flags.createKey({ name: `${plan.metadata.service}-checkout`, environment: flag.environment }, DEMO_ACTOR);
  console.log(`flag-read key ${key.id} created for the checkout app (\`golive flags keys create\`); its secret lives in the app's memory only`);
  const stage = await startRolloutStage({
    home: join(config.home, 'rollout'),
    prometheusBin: requireTool(loadToolchain(config.tools), 'prometheus'),
    ofrepUrl: chapter.serverUrl,
    flagReadKey: key.secret,
    service: plan.metadata.service,
    flagKey: flag.key,
    logger: chapter.logger,
  });
  try {
    Object.assign(process.env, stage.env);
    console.log(`checkout app ${stage.app.url} asks ${chapter.serverUrl}/ofrep/v1/evaluate/flags/${flag.key} for each user; ${stage.load.sent} requests so far from the load generator; Prometheus ${stage.prometheus.url} scrapes it every second`);

    const checklist = await planChecklist(plan, CHECKLISTS_DIR);
    const roles = createRoleDirectory(config.roles, identity);
    const runId = await startRollout(client, roles, { plan, checklist, requestedBy: RELEASE_MANAGER, channel: 'cli', source: PLAN, taskQueue });
    say(`${RELEASE_MANAGER} starts rollout ${runId} (\`golive rollout start ${plan.metadata.name}\`); the go-live gate runs first as ${runId}-gate`);
    const gate = await passTheGate(chapter, `${runId}-gate`);
    if (gate.status !== 'passed') {
      console.log(formatRollout(await finalRecord(chapter, runId)));
      return false;
    }
    say('the gate passed: the flag goes to 10%, bakes, then 50% while the guard reads the error rate every second');
    return await breakTheNewCheckout(chapter, stage, plan, runId);
  } finally {
    await stage.stop();
    await flags.revokeKey(key.id, DEMO_ACTOR);
  }
}
