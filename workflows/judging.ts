import { condition } from '@temporalio/workflow';

/**
 * Controls still being judged (their actor's roles are being looked up): a run starts no new side
 * effect, and does not end, until they settle, so whatever a control decides is honoured first.
 */
export class Judging {
  private pending = 0;

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.pending += 1;
    try {
      return await work();
    } finally {
      this.pending -= 1;
    }
  }

  /** Resolves once no control is being judged. */
  settled(): Promise<void> {
    return condition(() => this.pending === 0);
  }
}
