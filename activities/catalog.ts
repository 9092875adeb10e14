import type { ActionName } from '../definitions/actions.ts';
import { setCapacity } from './aws/autoscaling.ts';
import { upsertRecord } from './aws/route53.ts';
import { parseInput, type ActionCall } from './call.ts';
import { asInterruptible } from './context.ts';
import * as http from './http/checks.ts';
import { switchUpstream } from './nginx/upstream.ts';
import { dropDatabase, query } from './postgres/query.ts';
import { promote, replicationLag } from './postgres/replication.ts';
import { fence, unfence } from './postgres/fence.ts';
import { startContainers, stopContainers } from './docker/containers.ts';
import { createBackup, latestBackup, pruneBackups, verifyChecksum } from './backup/actions.ts';
import { restoreBackup } from './backup/restore.ts';
import { declare } from './drill/declare.ts';
import { health } from './drill/health.ts';
import { verify } from './drill/verify.ts';
import { dump, restore } from './postgres/dump-restore.ts';
import { setRollout } from './flags/set-rollout.ts';
import * as prometheus from './prometheus/query.ts';
import { rules as prometheusRules } from './prometheus/rules.ts';
import { secretsScan } from './evidence/secrets.ts';
import { loadtestSummary } from './evidence/loadtest.ts';
import { drEvidence } from './evidence/dr.ts';
import type { ActionActivity, ActionDeps, ActionRequest } from './types.ts';

/** Parses the request's `with` against the catalog, then runs the action with typed input, heartbeating and interruptible. */
function action<A extends ActionName>(name: A, deps: ActionDeps, run: (call: ActionCall<A>) => Promise<Record<string, unknown>>): ActionActivity {
  return async (request: ActionRequest) => {
    const call = parseInput(name, request, deps.env, deps.targetEnv);
    return asInterruptible(() => run(call));
  };
}

/** Marks a point in a run; its result echoes the note. */
async function noop(call: ActionCall<'noop'>) {
  return { note: call.input.note ?? null };
}

/** One activity per catalog action, named as in the catalog. */
export function createActionActivities(deps: ActionDeps) {
  return {
    noop: action('noop', deps, noop),
    'http.check': action('http.check', deps, http.check),
    'http.burst': action('http.burst', deps, http.burst),
    'http.wait-healthy': action('http.wait-healthy', deps, http.waitHealthy),
    'tls.certificate': action('tls.certificate', deps, http.certificate),
    'prometheus.query': action('prometheus.query', deps, prometheus.query),
    'prometheus.rules': action('prometheus.rules', deps, prometheusRules),
    'secrets.scan': action('secrets.scan', deps, secretsScan),
    'loadtest.summary': action('loadtest.summary', deps, loadtestSummary),
    'golive.dr-evidence': action('golive.dr-evidence', deps, (call) => drEvidence(deps, call)),
    'flag.set-rollout': action('flag.set-rollout', deps, (call) => setRollout(deps, call)),
    'postgres.query': action('postgres.query', deps, query),
    'postgres.replication-lag': action('postgres.replication-lag', deps, replicationLag),
    'postgres.fence': action('postgres.fence', deps, fence),
    'postgres.unfence': action('postgres.unfence', deps, unfence),
    'postgres.promote': action('postgres.promote', deps, promote),
    'postgres.dump': action('postgres.dump', deps, (call) => dump(deps, call)),
    'postgres.restore': action('postgres.restore', deps, (call) => restore(deps, call)),
    'postgres.drop-database': action('postgres.drop-database', deps, dropDatabase),
    'backup.create': action('backup.create', deps, (call) => createBackup(deps, call)),
    'backup.prune': action('backup.prune', deps, (call) => pruneBackups(deps, call)),
    'backup.latest': action('backup.latest', deps, latestBackup),
    'backup.verify-checksum': action('backup.verify-checksum', deps, verifyChecksum),
    'backup.restore': action('backup.restore', deps, (call) => restoreBackup(deps, call)),
    'drill.declare': action('drill.declare', deps, declare),
    'drill.verify': action('drill.verify', deps, verify),
    'drill.health': action('drill.health', deps, health),
    'nginx.switch-upstream': action('nginx.switch-upstream', deps, (call) => switchUpstream(call, deps)),
    'route53.upsert-record': action('route53.upsert-record', deps, (call) => upsertRecord(deps.env, call)),
    'autoscaling.set-capacity': action('autoscaling.set-capacity', deps, (call) => setCapacity(deps.env, call)),
    'docker.start-containers': action('docker.start-containers', deps, startContainers),
    'docker.stop-containers': action('docker.stop-containers', deps, stopContainers),
  } satisfies Record<ActionName, ActionActivity>;
}
