import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RoleDirectory } from '../definitions/roles.ts';
import type { FlagCache } from '../runtime/flag-cache.ts';
import type { FlagStore } from '../store/flags.ts';
import type { IdentityStore } from '../store/identity.ts';
import type { ProtectionStore } from '../store/protection.ts';
import type { RunStore } from '../store/runs.ts';
import type { OidcSettings } from './oidc.ts';
import type { Config } from '../config/env.ts';

export type SlackSettings = Omit<Config['slack'], 'groupRoles'>;

/** What the HTTP server needs; runtime/services.ts builds the real ones. */
export interface ServerDeps {
  store: RunStore;
  /** Backups and drills, for drill history and posture. */
  protection: ProtectionStore;
  /** API tokens, checked on every authenticated request. */
  identity: IdentityStore;
  /**
   * Who holds which role (GOLIVE_ROLES and database grants): POST /api/failovers refuses anyone but
   * an incident commander.
   */
  roles: RoleDirectory;
  /** The server's runbooks: POST /api/runs starts them by name, posture reads them. */
  runbooksDir: string;
  /** The server's checklists: a rollout plan's spec.checklist is read from here (default checklists). */
  checklistsDir?: string;
  /** The server's rollout plans: POST /api/rollouts starts them by name (default rollouts). */
  rolloutsDir?: string;
  client: Client;
  pool: pg.Pool;
  /** golive's built-in flags and their read keys: /api/flags and /api/flag-keys. Absent: those routes and OFREP are not served. */
  flags?: FlagStore;
  /** Every flag in memory, kept current by LISTEN: what OFREP evaluates from. */
  flagCache?: FlagCache;
  /** Where runs are started and controls are answered. */
  taskQueue: string;
  /**
   * Slack: the app at POST /slack/events when signingSecret is set (Socket Mode instead when socketMode),
   * and channel, the channel ID of the message of a run started here whose definition names none.
   */
  slack?: SlackSettings;
  /** When set, bearer JWTs from this OpenID Connect provider are accepted too. */
  oidc?: OidcSettings;
  registry: Registry;
  logger: Logger;
}
