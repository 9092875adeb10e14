import type { StepStatus } from './definitions.ts';

/** One restore-verification drill, as recorded in golive's Postgres and sent to the notifier. */
export interface DrillRecord {
  runId: string;
  runbook: string;
  service: string;
  strategy: string;
  trigger: 'manual' | 'schedule';
  requestedBy: string;
  status: 'passed' | 'failed';
  /** Why the drill failed, with the numbers: "measured RPO 26h 0m exceeds objective 24h". */
  reason?: string;
  /** T_d on the worker's clock: when the drill's declare step declared the disaster (docs/rpo-rto.md). */
  declaredAt: string;
  /** When the health check on the restored copy first passed (worker's clock). */
  recoveredAt?: string;
  finishedAt: string;
  backup?: { backupId: string; location: string; snapshotAt: string; bytes: number; sha256: string };
  objectives: { rpo: string; rto: string; rpoMs: number; rtoMs: number };
  measured: {
    /** T_d on rpoClock − newestCommit; undefined when not measured (a negative difference is clock skew, never 0). */
    rpoMs?: number;
    /** T_d → first passing health check on the restored copy, without pausedMs. */
    rtoMs?: number;
    /** Time the run was paused between T_d and recovery: reported apart, not part of rtoMs. */
    pausedMs?: number;
    /** The newest committed timestamp RPO was measured from (source's clock), and where it came from. */
    newestCommit?: string;
    rpoSource?: 'heartbeat' | 'snapshot';
    /** The clock T_d was read on for RPO: the backup source's database, or the worker's when the source did not answer. */
    rpoClock?: 'source' | 'worker';
    /** T_d on the source database's clock, when it was read. */
    declaredAtSource?: string;
    /** The source database's clock minus the worker's at T_d, in ms; undefined when the source was not read. */
    skewMs?: number;
    /** The newest heartbeat in the restored copy, and the backup's snapshot time: both on the source's clock. */
    newestHeartbeat?: string;
    snapshotAt?: string;
    /** What qualifies the numbers, in words: a stopped heartbeat writer, an unreachable source, clocks that disagree. */
    notes?: string[];
  };
  steps: Array<{ id: string; status: StepStatus; durationMs?: number; error?: string }>;
}
