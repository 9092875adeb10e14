import type { ServicePosture } from '../definitions/posture.ts';
import type { BackupCatalog } from '../store/protection.ts';
import type { FlagProvider } from './flags/provider.ts';
import type { Target } from '../definitions/targets.ts';
import type { TargetEnvPolicy } from '../definitions/target-env.ts';

/** What the workflow engine hands an action activity for one step attempt. */
export interface ActionRequest<W = Record<string, unknown>> {
  runId: string;
  stepId: string;
  /** `${runId}:${stepId}`; the same on every retry of the step. */
  idempotencyKey: string;
  /** As written in the runbook: `${VAR}` references are resolved on the worker. */
  target?: { name: string; spec: Target };
  /** Other targets named by `with` fields (the catalog's targetRefs), as written. */
  targets: Record<string, Target>;
  /** Already parsed by the catalog schema, defaults applied; activities parse it again to type it. */
  with: W;
}

export type ActionActivity = (request: ActionRequest) => Promise<Record<string, unknown>>;

export interface ActionDeps {
  /** Where `${VAR}` references and AWS settings are read from (the worker's environment). */
  env: Readonly<Record<string, string | undefined>>;
  /** Folder with pg_dump and pg_restore. */
  pgBin: string;
  /**
   * Which `${NAME}` a target may resolve: never golive's own variables, and only the worker's
   * GOLIVE_TARGET_ENV_ALLOW when set (config.targetEnv). Unset: golive's own variables refused only.
   */
  targetEnv?: TargetEnvPolicy;
  /** The nginx executable nginx actions run (config.tools.nginxBin, GOLIVE_NGINX_BIN); unset: `nginx` from PATH. */
  nginxBin?: string;
  /** golive's own record of backups taken and pruned (Postgres); absent in tests of actions alone. */
  backups?: BackupCatalog;
  /** golive's built-in feature flags (Postgres); absent where the worker has no store (tests of actions alone). */
  flags?: FlagProvider;
  /** golive's own records, judged by the same rules as `golive posture`: what golive.dr-evidence reads. */
  posture?: (now: Date) => Promise<ServicePosture[]>;
}
