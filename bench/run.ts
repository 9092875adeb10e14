/** Runs every benchmark (or those named as arguments) and prints their figures. */
import { benchCli } from './cli.ts';
import { benchDr } from './dr.ts';
import { benchFailover } from './failover.ts';
import { benchOfrep } from './ofrep.ts';
import { benchOrchestration } from './orchestration.ts';
import { benchRollout } from './rollout.ts';
import { benchSlack } from './slack.ts';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  orchestration: benchOrchestration,
  dr: benchDr,
  cli: benchCli,
  failover: benchFailover,
  ofrep: benchOfrep,
  rollout: benchRollout,
  slack: benchSlack,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
for (const [name, bench] of Object.entries(BENCHMARKS)) {
  if (wanted.length === 0 || wanted.includes(name)) await bench();
}
process.exit(0);
