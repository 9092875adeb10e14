#!/usr/bin/env node
// Writes runtime/temporal-reads.json: the few Temporal API message types golive's quick reads use
// (QueryWorkflow, GetSystemInfo), cut from @temporalio/proto's full descriptor. The full one takes
// about 200 ms to load, which is most of a CLI command's start-up. Run it after upgrading
// @temporalio/proto; `--check` (run by test/integration/temporal-reads.test.ts) fails when the file no longer matches.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const METHODS = ['QueryWorkflow', 'GetSystemInfo'];
const SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

/** The descriptor JSON of every type the methods' requests and responses reach, nested by package. */
export function readProtos() {
  const root = require('@temporalio/proto');
  const service = root.lookupService(SERVICE);
  const wanted = new Map();
  const visit = (type) => {
    if (wanted.has(type.fullName)) return;
    wanted.set(type.fullName, type);
    for (const field of type.fieldsArray ?? []) {
      field.resolve();
      if (field.resolvedType) visit(field.resolvedType);
    }
  };
  for (const name of METHODS) {
    const method = service.methods[name].resolve();
    visit(method.resolvedRequestType);
    visit(method.resolvedResponseType);
  }
  const json = { nested: {} };
  for (const [fullName, type] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    let namespace = json;
    for (const part of fullName.slice(1).split('.').slice(0, -1)) {
      namespace.nested ??= {};
      namespace = namespace.nested[part] ??= {};
    }
    namespace.nested ??= {};
    const own = type.toJSON();
    delete own.nested;
    namespace.nested[type.name] = { ...namespace.nested[type.name], ...own };
  }
  return json;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../runtime/temporal-reads.json', import.meta.url));
  const text = `${JSON.stringify(readProtos())}\n`;
  if (process.argv.includes('--check')) {
    const same = existsSync(target) && readFileSync(target, 'utf8') === text;
    console.log(same ? `${target} matches @temporalio/proto` : `${target} differs from @temporalio/proto: run node scripts/temporal-read-protos.mjs`);
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
