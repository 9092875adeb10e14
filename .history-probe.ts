import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { loadRunbook } from './definitions/load.ts';
import { startFailoverStage } from './runtime/failover-stage.ts';
import { startFailover } from './runtime/failovers.ts';
import { createRoleDirectory } from './runtime/roles.ts';
import { loadToolchain, requireTool } from './stack/toolchain.ts';
import { withBenchStack } from './bench/stack.ts';
const nginxBin = requireTool(loadToolchain(), 'nginx');
const rb = await loadRunbook('runbooks/orders-failover-demo.yaml');
const runbook = { ...rb, spec: { ...rb.spec, steps: rb.spec.steps.filter((s) => s.kind !== 'approval') } };
const ROLES = { ivan: ['incident-commander' as const] };
await withBenchStack(async (stack) => {
  for (let i = 0; i < 2; i++) {
    const stage = await startFailoverStage({ home: join(stack.scratch, 'f'), pgBin: stack.pgBin, nginxBin });
    Object.assign(stack.env, stage.env);
    await delay(1000);
    await stage.killPrimary();
    const runId = await startFailover(stack.client, createRoleDirectory(ROLES), { runbook, requestedBy: 'ivan', channel: 'cli', taskQueue: stack.taskQueue, reason: 'x' });
    const handle = stack.client.workflow.getHandle(runId);
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const t0 = Number(events[0]?.eventTime?.seconds) * 1000 + Math.round((events[0]?.eventTime?.nanos ?? 0) / 1e6);
    if (i === 1) for (const e of events) {
      const t = Number(e.eventTime?.seconds) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
      const type = Object.keys(e).find((k) => k.endsWith('Attributes')) ?? '';
      const act = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
      console.log(String(t - t0).padStart(6), type.replace('EventAttributes', ''), act);
    }
    await stage.stop();
  }
}, { roles: ROLES, nginxBin });
process.exit(0);
