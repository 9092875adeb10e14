import type { DrillNotice } from '../../store/protection.ts';
import type { Logger } from 'pino';
import { drillResultMessage, drillResultText } from '../../slack/blocks/drill-result.ts';
import type { DrillRecord, RolloutRecord } from '../../workflows/definitions.ts';
import { callSlack, Transient, withSlackRetries } from './slack-api.ts';

export interface NotifierOptions {
  /** Drill results go to Slack when a token and a channel (the service's, else this one) are set; otherwise to the log. */
  slack: { token?: string; channel?: string; apiUrl: string };
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Tries per message on rate limits, Slack outages and network errors (default 4). */
  maxAttempts?: number;
  /** First wait between tries, doubled each time; Slack's Retry-After wins when it sends one (default 1s). */
  backoffMs?: number;
  /** Longest wait for one retry; a longer Retry-After gives up and leaves the retry to Temporal (default 30s). */
  maxWaitMs?: number;
}

export interface Notifier {
  /** `channel`: the service's channel (its definition's metadata.slack.channel); else the configured one. */
  drillFinished(record: DrillRecord, channel?: string): Promise<DrillNotice>;
  /** A rollout whose flag was rolled back: who must know that users lost the new feature, and why. */
  rolloutRolledBack(record: RolloutRecord, channel?: string): Promise<void>;
}

/** One line a release manager reads: which flag went back where, and why. */
export function rollbackText(record: RolloutRecord): string {
  const back = record.rolledBack;
  return `:rewind: rollout ${record.runId} of ${record.service}: flag ${record.flag.key} rolled back from ${back?.from ?? '?'}% to ${back?.to ?? '?'}% — ${back?.cause ?? record.reason ?? 'rolled back'}`;
}

/**
 * Announces finished drills and rolled-back rollouts: a message to the service's Slack channel
 * (or the configured one), or a structured log line when Slack is not configured. Drill results
 * retry rate limits, Slack outages and network errors here (honouring Retry-After) and then
 * throw plainly, so Temporal retries the activity; Slack's other answers (invalid_auth,
 * channel_not_found, ...) fail for good.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { token, apiUrl } = options.slack;
  const retries = { logger: options.logger, maxAttempts: options.maxAttempts, backoffMs: options.backoffMs, maxWaitMs: options.maxWaitMs };

  return {
    async rolloutRolledBack(record, serviceChannel) {
      const channel = serviceChannel ?? options.slack.channel;
      if (token !== undefined && channel !== undefined) {
        try {
          await callSlack(apiUrl, token, 'chat.postMessage', { channel, text: rollbackText(record) }, `cannot post the rollback of ${record.runId} to Slack channel ${channel}`);
        } catch (error) {
          // Rate limits and outages: Temporal retries the activity.
          throw error instanceof Transient ? new Error(error.message) : error;
        }
        return;
      }
      const { runId, service, flag, rolledBack } = record;
      options.logger.warn({ runId, service, flag: flag.key, rolledBack }, rollbackText(record));
    },
    async drillFinished(record, serviceChannel) {
      const channel = serviceChannel ?? options.slack.channel;
      if (token !== undefined && channel !== undefined) {
        const body = { channel, ...drillResultMessage(record), unfurl_links: false, unfurl_media: false };
        const context = `cannot post the ${record.service} drill result (run ${record.runId}) to Slack channel ${channel}`;
        const answer = await withSlackRetries(() => callSlack(apiUrl, token, 'chat.postMessage', body, context), { ...retries, fields: { runId: record.runId } });
        return { channel: 'slack', ts: typeof answer.ts === 'string' ? answer.ts : undefined };
      }
      const { runId, service, status, measured, objectives } = record;
      options.logger.info(
        { runId, service, status, measured, objectives, reason: record.reason, backupId: record.backup?.backupId },
        drillResultText(record),
      );
      return { channel: 'log' };
    },
  };
}
