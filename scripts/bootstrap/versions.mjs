// Tool versions, asked of each binary once and cached by its size and mtime so a warm run stays fast.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { capture } from './exec.mjs';

/** How to ask each kind of tool for its version, and where the number is in the answer. */
const VERSION_ARGS = {
  temporal: ['--version'],
  pg_ctl: ['--version'],
  nginx: ['-v'],
  prometheus: ['--version'],
  'docker-compose': ['version', '--short'],
};

export class VersionCache {
  constructor(file) {
    this.file = file;
    this.entries = readEntries(file);
    this.changed = false;
  }

  /** The version a binary reports ("1.22.1"), or "unknown". */
  versionOf(kind, binary) {
    let stat;
    try {
      stat = statSync(binary);
    } catch {
      return 'unknown';
    }
    const cached = this.entries[binary];
    if (cached && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) return cached.version;
    const version = askVersion(kind, binary);
    this.entries[binary] = { size: stat.size, mtimeMs: stat.mtimeMs, version };
    this.changed = true;
    return version;
  }

  save() {
    if (!this.changed) return;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(this.entries, null, 2)}\n`);
  }
}

function askVersion(kind, binary) {
  const result = capture(binary, VERSION_ARGS[kind] ?? ['--version']);
  const match = /(\d+\.\d+(?:\.\d+)?)/.exec(`${result.stdout}\n${result.stderr}`);
  return match ? match[1] : 'unknown';
}

function readEntries(file) {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}
