import { Command, CommanderError } from 'commander';
import { adviseCommand } from './advise.ts';
import { drillHistoryCommand } from './drill-history.ts';
import { heartbeatCommand } from './heartbeat.ts';
import { rolesCommand, tokenCommand } from './identity.ts';
import { postureCommand } from './posture.ts';
import { processCommands } from './processes.ts';
import { backupCommand, drillCommand } from './protection.ts';
import { demoCommand } from './demo.ts';
import { runCommands } from './runs.ts';
import { validateCommand } from './validate.ts';

const program = new Command('golive')
  .description('go-live checklists, phased rollouts, DR drills and failover runbooks on Temporal')
  .showHelpAfterError()
  .exitOverride();

for (const command of [validateCommand(), ...runCommands(), backupCommand(), drillCommand([drillHistoryCommand()]), postureCommand(), adviseCommand(), heartbeatCommand(), tokenCommand(), rolesCommand(), ...processCommands(), demoCommand()]) program.addCommand(command);

try {
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? 0);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`golive: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.GOLIVE_LOG_LEVEL === 'debug' && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
