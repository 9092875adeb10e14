/**
 * One interface over every feature-flag service golive moves: its own built-in flags (Postgres,
 * served over OFREP) and Unleash (Admin API). A rollout's `flag.set-rollout` step goes through it.
 */

/** One change of a flag's rollout percentage, with who caused it and which run, for the flag's audit. */
export interface FlagChange {
  key: string;
  environment: string;
  percent: number;
  /** The person behind the change: the authenticated user, or a run's requester / promoter. */
  actor: string;
  channel?: string;
  /** The run that made the change, if a run did. */
  runId?: string;
  /** The same on every retry of one step: a retry reports the first attempt's `from`, never its own. */
  idempotencyKey?: string;
  comment?: string;
}

export interface FlagChangeResult {
  key: string;
  environment: string;
  /** The percentage before this change (null: the flag did not exist and was created). */
  from: number | null;
  to: number;
  changed: boolean;
}

export interface FlagState {
  key: string;
  environment: string;
  enabled: boolean;
  percent: number;
  updatedAt?: string;
  updatedBy?: string;
}

export interface FlagProvider {
  /** Sets the flag's percentage, creating the flag when it does not exist; retry-safe by idempotencyKey. */
  setRollout(change: FlagChange): Promise<FlagChangeResult>;
  read(key: string, environment: string): Promise<FlagState | undefined>;
}
