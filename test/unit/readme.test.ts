import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { parseDefinition } from '../../definitions/load.ts';

it('every definition example in the README is valid', async () => {
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  expect(examples.length).toBe(4);
  const results = examples.map((text, index) => parseDefinition(text, `README example ${index + 1}`));
  expect(results.map((result) => (result.ok ? result.kind : result.problems))).toEqual(['Runbook', 'Checklist', 'RolloutPlan', 'Runbook']);
});
