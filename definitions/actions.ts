import { z } from 'zod';
import { identifier, nonEmpty, positiveDuration } from './fields.ts';
import { GO_LIVE_ACTIONS } from './actions-go-live.ts';
import type { TargetType } from './targets.ts';

/**
 * Every action a runbook step or checklist item can name. Each entry says which target types
 * it acts on, the shape of its `with`, and which `with` fields name further targets.
 * Activities implement exactly these names (activities/index.ts).
 */
export interface ActionSpec {
  summary: string;
  /** Target types the step's `target` may be; empty when the action takes no target. */
  targets: readonly TargetType[];
  with: z.ZodType;
  /** `with` fields whose value is the name of another target, and the types it may be. */
  targetRefs?: Readonly<Record<string, readonly TargetType[]>>;
  /** The `with` field holding SQL, where placeholders are refused, and the field its values go in instead. */
  sql?: { field: string; params?: string };
}

const literal = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const hostPort = z.string().regex(/^[\w.-]+:\d+$/, 'must be HOST:PORT');
/** A database name golive creates or drops: plain lower-case, or filled in from a placeholder. */
const scratchDatabase = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case database name like orders_recovery');
/** postgres.restore's database: lower-case with dashes (orders-recovery) or a plain SQL name (orders_recovery). */
const restoredDatabase = z.union([identifier, z.string().regex(/^[a-z_][a-z0-9_]*$/)], {
  error: 'must be a lower-case database name like orders-recovery or orders_recovery',
});
const BACKUP_STORES = ['filesystem', 's3'] as const;


export const ACTIONS = {
  noop: {
    summary: 'does nothing; marks a point in the run',
    targets: [],
    with: z.strictObject({ note: z.string().optional() }),
  },
  'http.check': {
    summary: 'requests a URL and reports status and latency',
    targets: ['http'],
    with: z.strictObject({
      path: z.string().default('/'),
      method: z.enum(['GET', 'HEAD']).default('GET'),
      expectStatus: z.number().int().min(100).max(599).default(200),
      bodyContains: z.string().optional(),
      timeout: positiveDuration.default('10s'),
    }),
  },
  'http.burst': {
    summary: 'sends a burst of requests and counts answers by status (rate-limit check)',
    targets: ['http'],
    with: z.strictObject({
      path: z.string().default('/'),
      requests: z.number().int().min(1).max(2000).default(200),
      concurrency: z.number().int().min(1).max(100).default(20),
    }),
  },
  'http.wait-healthy': {
    summary: 'polls a URL until it answers as expected; reports when it first did (what stops a failover\'s RTO clock)',
    targets: ['http'],
    with: z.strictObject({
      path: z.string().default('/'),
      expectStatus: z.number().int().min(100).max(599).default(200),
      bodyContains: z.string().optional(),
      within: positiveDuration.default('2m'),
      every: positiveDuration.default('200ms'),
    }),
  },
  'tls.certificate': {
    summary: "reads the TLS certificate of an https URL: days to expiry, issuer, protocol",
    targets: ['http'],
    with: z.strictObject({ minDaysRemaining: z.number().int().min(0).default(14) }),
  },
  'prometheus.query': {
    summary: 'runs an instant PromQL query and returns its value',
    targets: ['prometheus'],
    with: z.strictObject({ query: nonEmpty }),
  },
  ...GO_LIVE_ACTIONS,
  'postgres.query': {
    summary: 'runs SQL and returns its rows (first 100)',
    targets: ['postgres'],
    with: z.strictObject({
      sql: nonEmpty,
      params: z.array(literal).default([]),
      /** Another database on the same server (a drill's scratch copy); default the target's own. */
      database: scratchDatabase.optional(),
    }),
    sql: { field: 'sql', params: 'params' },
  },
  'postgres.replication-lag': {
    summary: 'the data a failover would lose now (exposure): from the primary when it answers, else from the standby alone',
    targets: ['postgres'],
    with: z.strictObject({
      primary: identifier,
      /** How long to try the primary before measuring from the standby alone (a region that is gone never answers). */
      primaryTimeout: positiveDuration.default('3s'),
      /** With the primary answering: how long the standby may take to reach the primary's position before what is left counts as lag. */
      catchUp: positiveDuration.default('2s'),
    }),
    targetRefs: { primary: ['postgres'] },
  },
  'postgres.fence': {
    summary: 'stops an old primary from accepting writes (read-only default, client sessions ended); reports fenced, not-primary or unreachable',
    targets: ['postgres'],
    with: z.strictObject({ connectTimeout: positiveDuration.default('3s') }),
  },
  'postgres.unfence': {
    summary: 'lets a fenced primary accept writes again (compensation of postgres.fence, before any promotion)',
    targets: ['postgres'],
    with: z.strictObject({}),
  },
  'postgres.promote': {
    summary: 'promotes a standby to primary, checks it accepts writes and reports its timeline; a primary is left as it is',
    targets: ['postgres'],
    with: z.strictObject({ wait: positiveDuration.default('60s') }),
  },
  'postgres.dump': {
    summary: 'writes pg_dump -Fc of the target database to a file',
    targets: ['postgres'],
    with: z.strictObject({ file: nonEmpty }),
  },
  'postgres.restore': {
    summary: 'restores a pg_dump -Fc file into a new database on the target server',
    targets: ['postgres'],
    with: z.strictObject({ file: nonEmpty, database: restoredDatabase }),
  },
  'postgres.drop-database': {
    summary: 'drops a database on the target server if it exists (a drill scratch copy)',
    targets: ['postgres'],
    with: z.strictObject({
      database: scratchDatabase,
      /** A restore step's idempotency key (RUN:STEP): drop the database only if that restore created it. */
      restoredBy: nonEmpty.optional(),
    }),
  },
  'backup.create': {
    summary: 'streams pg_dump -Fc of the target database into a backup store, with a manifest',
    targets: ['postgres'],
    with: z.strictObject({
      store: identifier,
      service: identifier,
      /** Names the backup in the store; the same on every retry of the step. */
      backupId: nonEmpty,
      /** Rows per table fingerprinted in the manifest, for drills to compare. */
      sampleRows: z.number().int().min(0).default(1000),
    }),
    targetRefs: { store: BACKUP_STORES },
  },
  'backup.prune': {
    summary: 'deletes backups beyond the retention policy (keep N, max age); never the newest',
    targets: BACKUP_STORES,
    with: z.strictObject({
      service: identifier,
      keep: z.number().int().min(1).optional(),
      maxAge: positiveDuration.optional(),
    }),
  },
  'backup.latest': {
    summary: "finds the newest complete backup of a service in a store and returns its manifest summary",
    targets: BACKUP_STORES,
    with: z.strictObject({ service: identifier }),
  },
  'backup.verify-checksum': {
    summary: "reads a backup back from its store and checks its size and sha256 against the manifest",
    targets: BACKUP_STORES,
    with: z.strictObject({ service: identifier, backupId: nonEmpty }),
  },
  'backup.restore': {
    summary: 'restores a backup from a store into a new database on the target server',
    targets: ['postgres'],
    with: z.strictObject({ store: identifier, service: identifier, backupId: nonEmpty, database: scratchDatabase }),
    targetRefs: { store: BACKUP_STORES },
  },
  'drill.declare': {
    summary: "declares a drill's disaster (T_d): the worker's time and the source database's clock; an unreachable source falls back to the worker's",
    targets: ['postgres'],
    with: z.strictObject({}),
  },
  'drill.verify': {
    summary: 'checks a restored database against its backup manifest: tables, row counts, sample checksums',
    targets: ['postgres'],
    with: z.strictObject({ store: identifier, service: identifier, backupId: nonEmpty, database: scratchDatabase }),
    targetRefs: { store: BACKUP_STORES },
  },
  'drill.health': {
    summary: 'polls a health query on a database until it passes; reports when it first passed',
    targets: ['postgres'],
    with: z.strictObject({
      database: scratchDatabase.optional(),
      sql: nonEmpty.default('SELECT 1'),
      within: positiveDuration.default('5m'),
    }),
    sql: { field: 'sql' },
  },
  'nginx.switch-upstream': {
    summary: 'points an nginx upstream at new servers and reloads nginx',
    targets: ['nginx'],
    with: z.strictObject({
      upstream: nonEmpty,
      servers: z.array(hostPort).min(1),
      /** An http target in front of nginx: after the reload, wait for answers from the new servers through it. */
      confirmVia: identifier.optional(),
      confirm: z
        .strictObject({
          path: z.string().default('/'),
          /** Answers in a row that must come from the new servers (old workers drain for a moment after a reload). */
          consecutive: z.number().int().min(1).max(100).default(5),
          /** The response header naming the server that answered (`add_header X-Upstream-Addr $upstream_addr;`). */
          header: nonEmpty.default('x-upstream-addr'),
          within: positiveDuration.default('30s'),
        })
        .default({ path: '/', consecutive: 5, header: 'x-upstream-addr', within: '30s' }),
    }),
    targetRefs: { confirmVia: ['http'] },
  },
  'route53.upsert-record': {
    summary: 'creates or updates a Route 53 record (weighted records with setIdentifier)',
    targets: ['route53'],
    with: z.strictObject({
      name: nonEmpty,
      type: z.enum(['A', 'AAAA', 'CNAME', 'TXT']),
      values: z.array(nonEmpty).min(1),
      ttl: z.number().int().min(0).default(60),
      setIdentifier: nonEmpty.optional(),
      weight: z.number().int().min(0).max(255).optional(),
      /** Failover routing: this record answers as the PRIMARY or the SECONDARY of the pair (needs setIdentifier). */
      failover: z.enum(['PRIMARY', 'SECONDARY']).optional(),
      healthCheckId: nonEmpty.optional(),
    }),
  },
  'autoscaling.set-capacity': {
    summary: 'sets the desired (and optionally min/max) capacity of an Auto Scaling group',
    targets: ['autoscaling'],
    with: z.strictObject({
      desired: z.number().int().min(0),
      min: z.number().int().min(0).optional(),
      max: z.number().int().min(0).optional(),
      /** Wait until this many instances are InService (the desired count), up to this long. */
      waitInService: positiveDuration.optional(),
    }),
  },
  'docker.start-containers': {
    summary: "creates and starts a service's containers on a Docker host and waits until they report healthy",
    targets: ['docker'],
    with: z.strictObject({
      containers: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, 'must be a container name like orders-api-1'),
            /** An image reference; pin it by digest (repo@sha256:...) so the recovery site runs what production ran. */
            image: nonEmpty,
            pull: z.boolean().default(false),
            env: z.record(z.string(), z.string()).default({}),
            cmd: z.array(z.string()).optional(),
            /** container port (80/tcp) to host port. */
            ports: z.record(z.string(), z.number().int().min(1).max(65535)).default({}),
          }),
        )
        .min(1),
      /** How long each container may take to report healthy (or running, for an image without a health check). */
      healthyWithin: positiveDuration.default('2m'),
    }),
  },
  'docker.stop-containers': {
    summary: 'stops and removes the named containers on a Docker host (compensation of docker.start-containers)',
    targets: ['docker'],
    with: z.strictObject({ names: z.array(nonEmpty).default([]) }),
  },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name);
}

/** The parsed `with` of an action, defaults applied. */
export type ActionInput<A extends ActionName> = z.output<(typeof ACTIONS)[A]['with']>;
