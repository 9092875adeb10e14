import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ServicePosture } from '../definitions/posture.ts';
import { readPosture } from '../runtime/posture.ts';
import type { ServerDeps } from './deps.ts';

type Deps = Pick<ServerDeps, 'store' | 'protection' | 'runbooksDir'>;

/** The posture once per scrape, however many gauges read it. */
function postureSource(deps: Deps): () => Promise<ServicePosture[]> {
  let cached: { at: number; services: Promise<ServicePosture[]> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 1_000) {
      cached = { at: Date.now(), services: readPosture(deps.protection, deps.runbooksDir).then((report) => report.services) };
    }
    return cached.services;
  };
}

/** A gauge per service, from one field of its posture; services without a value are left out. */
function postureGauge(registry: Registry, posture: () => Promise<ServicePosture[]>, name: string, help: string, value: (service: ServicePosture) => number | undefined): void {
  new Gauge({
    name,
    help,
    labelNames: ['service'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const service of await posture()) {
        const reading = value(service);
        if (reading !== undefined) this.set({ service: service.service }, reading);
      }
    },
  });
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1_000);
const timestamp = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1_000 : undefined);

/**
 * Prometheus registry: process metrics, runs by status, and the DR posture of every service,
 * read at scrape time, so alerts can fire on an old backup or a drill that stopped passing.
 */
export function createRegistry(deps: Deps): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'golive_' });
  new Gauge({
    name: 'golive_runs',
    help: 'Runs recorded in golive, by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, runs] of Object.entries(await deps.store.countByStatus())) this.set({ status }, runs);
    },
  });
  const posture = postureSource(deps);
  new Gauge({
    name: 'golive_dr_status',
    help: 'DR posture of each service: 1 for its current status (ok, stale, at-risk)',
    labelNames: ['service', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const service of await posture()) this.set({ service: service.service, status: service.status }, 1);
    },
  });
  postureGauge(registry, posture, 'golive_backup_age_seconds', 'Age of the newest backup (now minus its snapshot time)', (service) => seconds(service.lastBackup?.ageMs));
  postureGauge(registry, posture, 'golive_rpo_objective_seconds', 'RPO objective of the service', (service) => seconds(service.objectives?.rpoMs));
  postureGauge(registry, posture, 'golive_rto_objective_seconds', 'RTO objective of the service', (service) => seconds(service.objectives?.rtoMs));
  postureGauge(registry, posture, 'golive_drill_measured_rpo_seconds', 'Measured RPO of the last drill', (service) => seconds(service.lastDrill?.rpoMs));
  postureGauge(registry, posture, 'golive_drill_measured_rto_seconds', 'Measured RTO of the last drill', (service) => seconds(service.lastDrill?.rtoMs));
  postureGauge(registry, posture, 'golive_drill_last_passed_timestamp_seconds', 'When a drill of the service last passed (Unix time)', (service) => timestamp(service.lastPassedDrillAt));
  return registry;
}
