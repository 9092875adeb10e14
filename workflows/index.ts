export { runbookWorkflow } from './runbook.ts';
