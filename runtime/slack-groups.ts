import { z } from 'zod';
import { reason } from '../definitions/failures.ts';

/**
 * The members of Slack user groups, read with the Web API's usergroups.users.list and kept for a
 * short time per group. It fails closed: when Slack does not answer, or refuses, the group has no
 * members as far as golive is concerned, so it gives nobody a role, and a warning says so.
 */

export interface SlackGroupMembers {
  /** The user IDs in `group` now; empty when Slack could not say. */
  members(group: string): Promise<string[]>;
}

export interface SlackGroupOptions {
  /** The bot token (needs the usergroups:read scope). */
  token: string;
  /** SLACK_API_URL, like https://slack.com/api/. */
  apiUrl: string;
  logger?: { warn(fields: object, message: string): void };
  /** How long an answer is kept (default 60s): a member removed from the group loses its roles within this. */
  cacheMs?: number;
  /** How long one request may take (default 2s): a role look-up on the worker must finish well within its own 5s. */
  timeoutMs?: number;
  now?: () => number;
}

const MembersAnswer = z.union([
  z.object({ ok: z.literal(true), users: z.array(z.string()) }),
  z.object({ ok: z.literal(false), error: z.string().default('unknown_error') }),
]);

/** One usergroups.users.list call: the members, or an Error saying what Slack answered. */
async function fetchMembers(options: SlackGroupOptions, group: string): Promise<string[]> {
  const base = options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`;
  const url = `${base}usergroups.users.list?${new URLSearchParams({ usergroup: group })}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${options.token}` }, signal: AbortSignal.timeout(options.timeoutMs ?? 2_000) });
  } catch (error) {
    throw new Error(`Slack did not answer (${reason(error)})`);
  }
  const answer = MembersAnswer.safeParse(await response.json().catch(() => undefined));
  if (!answer.success) throw new Error(`Slack answered HTTP ${response.status} without a Web API body; is SLACK_API_URL right?`);
  if (!answer.data.ok) throw new Error(`Slack answered ${answer.data.error}`);
  return answer.data.users;
}

export function createSlackGroupMembers(options: SlackGroupOptions): SlackGroupMembers {
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; members: Promise<string[] | undefined> }>();

  function ask(group: string): Promise<string[] | undefined> {
    return fetchMembers(options, group).catch((error: unknown) => {
      options.logger?.warn({ group, error: reason(error) }, `cannot read the members of Slack user group ${group}: ${reason(error)}; it gives nobody a role until Slack answers (GOLIVE_SLACK_GROUP_ROLES)`);
      return undefined;
    });
  }

  return {
    async members(group) {
      const kept = cache.get(group);
      if (kept && now() - kept.at < cacheMs) return (await kept.members) ?? [];
      // Kept while it is asked, so look-ups at the same moment share one request; a failure is not kept.
      const entry = { at: now(), members: ask(group) };
      cache.set(group, entry);
      const members = await entry.members;
      if (members === undefined && cache.get(group) === entry) cache.delete(group);
      return members ?? [];
    },
  };
}
