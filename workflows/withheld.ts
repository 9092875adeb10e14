import type { Step } from '../definitions/schema.ts';
import type { RunState } from './definitions.ts';

/**
 * Why a run that passed an irreversible step (a promotion) rolls nothing back, and where it
 * stands. Sending traffic back, or letting the old primary take writes again, would leave two
 * primaries that may have diverged: a person finishes or repairs from here.
 */
export function withheldRollback(state: RunState, after: string, compensations: Step[]) {
  const done = state.steps.filter((step) => step.status === 'succeeded' || step.status === 'interrupted').map((step) => step.id);
  const notRun = state.steps.filter((step) => step.status === 'pending').map((step) => step.id);
  const reason = `nothing was rolled back because ${after} may have applied an irreversible change `
    + '(a promoted standby is not demoted, and traffic is not sent back to a primary that may have diverged). '
    + `Done: ${done.join(', ') || 'nothing'}. Not run: ${notRun.join(', ') || 'nothing'}. Finish or repair by hand from here.`;
  return { reason, detail: { after, withheld: compensations.map((step) => step.id), done, notRun } };
}
