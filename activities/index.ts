import { businessFailure } from '../definitions/failures.ts';
import type { Role, RoleDirectory } from '../definitions/roles.ts';
import { resolveTarget } from '../definitions/targets.ts';
import { DrillNotRecorded, type DrillNotice } from '../store/protection.ts';
import { AuditConflict, type RunStore } from '../store/runs.ts';
import type { DrillRecord, PreflightInput, ProjectionBatch, RolloutRecord, RunMessageAnswer, RunMessageSync } from '../workflows/definitions.ts';
import { createActionActivities } from './catalog.ts';
import { createPostureDigestActivities, type PostureDigestDeps } from './notify/posture-digest.ts';
import { evaluateGuards, type GuardQuery, type GuardValue } from './prometheus/guards.ts';
import type { ActionDeps } from './types.ts';

export interface ActivityDeps {
  /** golive's record of runs: the projection of every run's audit trail. */
  store: RunStore;
  /** Who holds which role, from the worker's own configuration. */
  roles: RoleDirectory;
  actions: ActionDeps;
  /** Where each drill's announcement is kept, so a retry does not announce it twice. */
  drills: {
    notice(runId: string): Promise<DrillNotice | undefined>;
    noticed(runId: string, notice: DrillNotice): Promise<void>;
  };
  /** Where drill results are announced: Slack when configured, else the log. */
  notifier: { drillFinished(record: DrillRecord, channel?: string): Promise<DrillNotice>; rolloutRolledBack(record: RolloutRecord, channel?: string): Promise<void> };
  /** Keeps each run's Slack message up to date (activities/notify/run-message.ts); absent: runs have no message on this worker. */
  runMessages?: { sync(input: RunMessageSync): Promise<RunMessageAnswer> };
  /** Where the posture digest is posted (the worker's Slack settings); absent: the digest fails naming SLACK_BOT_TOKEN. */
  digest?: PostureDigestDeps;
}

/** Every activity the worker registers: one per catalog action, plus the runs' own bookkeeping. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createActionActivities(deps.actions),
    ...createPostureDigestActivities(deps.actions.posture, deps.digest),
    /** Writes a batch of a run's audit trail; idempotent, so Temporal retries it until Postgres answers. */
    async projectRun(batch: ProjectionBatch): Promise<void> {
      try {
        await deps.store.project(batch);
      } catch (error) {
        if (error instanceof AuditConflict) throw businessFailure(error.message, 'AuditConflict', error);
        throw error;
      }
    },
    /** A rollout's guards, once each: values or why there is none (never a failure: no answer is inconclusive). */
    async evaluateGuards(input: { runId: string; guards: GuardQuery[] }): Promise<GuardValue[]> {
      return evaluateGuards(deps.actions, input.runId, input.guards);
    },
    /** Tells the service's people (in `channel`, the plan's, when it names one) that a rollout's flag was rolled back. */
    async notifyRollout(record: RolloutRecord, channel?: string): Promise<void> {
      await deps.notifier.rolloutRolledBack(record, channel);
    },
    /** Posts or updates a run's Slack message and replies in its thread; never posts a run's message twice. */
    async syncRunMessage(input: RunMessageSync): Promise<RunMessageAnswer> {
      return deps.runMessages ? deps.runMessages.sync(input) : { posted: false, reason: 'this worker does not keep Slack messages' };
    },
    /** The roles `user` holds now, by the worker's configuration; never the caller's word. */
    async lookupRoles(user: string): Promise<Role[]> {
      return deps.roles.rolesOf(user);
    },
    /**
     * Before a run's first step: every declared target resolves on this worker, and every
     * approval gate has someone other than the requester who may decide it.
     */
    async preflight(input: PreflightInput): Promise<{ targets: string[]; approvers: Record<string, number> }> {
      if (input.requiredRole !== undefined) {
        const held = await deps.roles.rolesOf(input.requestedBy);
        if (!held.includes(input.requiredRole)) {
          throw businessFailure(`${input.requestedBy} cannot start this run: it needs the ${input.requiredRole} role, and ${input.requestedBy} holds ${held.join(', ') || 'no role'}`, 'NotAllowed');
        }
      }
      for (const [name, spec] of Object.entries(input.targets)) resolveTarget(name, spec, deps.actions.env, deps.actions.targetEnv);
      const approvers: Record<string, number> = {};
      for (const gate of input.gates) {
        const eligible = (await deps.roles.holders(gate.approvers)).filter((user) => user !== input.requestedBy);
        if (eligible.length === 0) {
          throw businessFailure(
            `gate ${gate.stepId} needs ${gate.approvers.join(' or ')} and nobody but ${input.requestedBy} holds it: grant the role to another person (GOLIVE_ROLES on the worker and server, or \`golive roles grant\`)`,
            'NoApprover',
          );
        }
        approvers[gate.stepId] = eligible.length;
      }
      return { targets: Object.keys(input.targets), approvers };
    },
    /**
     * Announces a recorded drill once: a retry after the announcement was kept posts nothing.
     * A post that lands while the notice cannot be kept may be repeated by the retry.
     * `channel`: the service's (its runbook's metadata.slack.channel), else the worker's GOLIVE_SLACK_CHANNEL.
     */
    async notifyDrill(record: DrillRecord, channel?: string): Promise<void> {
      if (await deps.drills.notice(record.runId)) return;
      const notice = await deps.notifier.drillFinished(record, channel);
      try {
        await deps.drills.noticed(record.runId, notice);
      } catch (error) {
        if (error instanceof DrillNotRecorded) throw businessFailure(error.message, 'NotFound', error);
        throw error;
      }
    },
  };
}
