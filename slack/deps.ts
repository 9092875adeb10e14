import type { ServerDeps } from '../server/deps.ts';

/** What the Slack app reads and starts runs with: the HTTP server's own dependencies, so both judge alike. */
export type SlackDeps = Pick<
  ServerDeps,
  'client' | 'store' | 'pool' | 'protection' | 'roles' | 'taskQueue' | 'runbooksDir' | 'rolloutsDir' | 'checklistsDir' | 'slack' | 'logger'
>;

/** Who typed a command or clicked, as Slack's signature vouches for, and where. */
export interface SlackActor {
  /** The Slack user id: the actor of everything the request does. */
  user: string;
  /** The channel the command was typed in or the button clicked in. */
  channel?: string;
}

/** Where runs are controlled, as runtime/runs.ts sendControl wants it. */
export const controlStack = (deps: SlackDeps) => ({ client: deps.client, store: deps.store, taskQueue: deps.taskQueue });
