import { z } from 'zod';

/**
 * The ids golive's Slack messages and modals carry, shared by the Block Kit builders (which put
 * them on buttons) and the Bolt app (which listens for them). A button's value says which gate
 * it decides; who decides is always the signed request's user, never anything in the value.
 */

/** The Approve and Reject buttons of a gate (a runbook approval step, a rollout phase, a checklist sign-off). */
export const APPROVE_ACTION = 'golive_approve';
export const REJECT_ACTION = 'golive_reject';
/** The modal a Reject click opens, asking for the reason. */
export const REJECT_VIEW = 'golive_reject_reason';
export const REJECT_REASON_BLOCK = 'reason';
export const REJECT_REASON_INPUT = 'reason_input';
/** The slash command the manifest registers. */
export const SLASH_COMMAND = '/golive';
/** The metadata event type of a run's message: how a post whose answer was lost is found again. */
export const RUN_MESSAGE_EVENT = 'golive_run';

/** Which gate of which run a button or a reject modal is about. */
export const GateRef = z.strictObject({ runId: z.string().min(1).max(200), stepId: z.string().min(1).max(200) });
export type GateRef = z.infer<typeof GateRef>;

/** A button value or a modal's private_metadata: compact JSON, well under Slack's 2,000-character limit. */
export function encodeGate(gate: GateRef): string {
  return JSON.stringify({ runId: gate.runId, stepId: gate.stepId });
}

/** The gate a value names, or undefined when it is not one of golive's (an old message, a hand-made payload). */
export const decodeGate = (value: string | undefined) => decodeJson(GateRef, value);

/** What a reject modal remembers between the click and the submission: the gate, and where to answer. */
export const RejectContext = GateRef.extend({ channel: z.string().max(50).optional() });
export type RejectContext = z.infer<typeof RejectContext>;

/** The gate and channel a submitted modal remembers; undefined when the metadata is not golive's. */
export const decodeRejectContext = (privateMetadata: string | undefined) => decodeJson(RejectContext, privateMetadata);

/** JSON text that `schema` accepts, or undefined for anything else: payloads come from outside and are never trusted. */
function decodeJson<T>(schema: z.ZodType<T>, value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
