import { Command, InvalidArgumentError, Option } from 'commander';
import { advise, type Advice } from '../definitions/advisor.ts';
import { DURATION_HINT, parseObjective } from '../definitions/duration.ts';
import { formatTable, print } from './context.ts';

function objective(text: string): number {
  const ms = parseObjective(text.trim());
  if (ms === undefined) throw new InvalidArgumentError(`expected ${DURATION_HINT}, or 0`);
  return ms;
}

export function formatAdvice(advice: Advice): string {
  return [
    `${advice.strategy}  (start from ${advice.template})`,
    advice.why,
    '',
    'not chosen:',
    formatTable(advice.rejected.map((each) => [`  ${each.strategy}`, each.why])),
  ].join('\n');
}

/**
 * `golive advise --rpo 5m --rto 30m`: the cheapest DR strategy that meets both objectives.
 * With --json it prints the Advice itself: {strategy, template, why, rejected}.
 */
export function adviseCommand(): Command {
  return new Command('advise')
    .description('the cheapest DR strategy that meets an RPO and an RTO, and the runbook template to start from')
    .requiredOption('--rpo <duration>', 'most data you can afford to lose, like 5m or 24h, or 0', objective)
    .requiredOption('--rto <duration>', 'longest the service may be down, like 30m or 4h, or 0', objective)
    .addOption(new Option('--json', 'print JSON'))
    .action((options: { rpo: number; rto: number; json?: boolean }) => {
      print(advise({ rpoMs: options.rpo, rtoMs: options.rto }), options.json, formatAdvice);
    });
}
