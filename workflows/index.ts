export { runbookWorkflow } from './runbook.ts';
export { backupWorkflow } from './backup.ts';
export { drillWorkflow } from './drill.ts';
export { auditCatchUpWorkflow } from './audit-catch-up.ts';
export { scheduledRunWorkflow } from './scheduled-run.ts';
export { failoverWorkflow } from './failover.ts';
export { checklistWorkflow } from './checklist.ts';
export { rolloutWorkflow } from './rollout.ts';
