import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { businessFailure } from '../../definitions/failures.ts';
import { stepTarget, type ActionCall } from '../call.ts';
import { cancellationSignal, heartbeat } from '../context.ts';

/**
 * secrets.scan: keys and tokens written into a repository. A finding names the file, the line
 * and the kind of secret, never the secret or the line around it: the result is kept in
 * workflow history, shown in Slack and audited, and a secret copied there leaks a second time.
 *
 * False positives cost trust in the gate, so a match is dropped when its value is plainly not a
 * secret: a placeholder (`${VAR}`, `{{ var }}`, `<token>`, "changeme", "example", "your-…",
 * "xxxx", "…"), or too uniform to be a key (`AAAA…`). `.env.example` is scanned like any other
 * file: it is committed, and a real key pasted into it leaks like one anywhere else; its empty
 * or placeholder values pass. The name-based pattern (a password, secret, token or API key
 * assigned a literal of 12 or more characters) also wants a value that looks generated: letters
 * mixed with digits or with both cases, not a path, URL or ARN. A cookie or header name assigned
 * to a `token` field passes; a mixed-case password with digits does not. That guess is not made
 * in test files, whose fixtures are made-up passwords; keys in vendor formats are found there too.
 */

interface SecretPattern {
  name: string;
  /** Global; run on one line at a time. */
  regex: RegExp;
  /** The capture group holding the secret, judged for placeholders; the whole match when absent. */
  group?: number;
  /** Only files whose name this accepts; every file when absent. */
  files?: (fileName: string) => boolean;
  /**
   * A name-based guess, not a vendor format: the value must look generated, and test files are
   * not searched (fixtures assign made-up passwords by the dozen; vendor formats still are).
   */
  generated?: boolean;
}

const SECRET_NAME = String.raw`(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)`;
const envFile = (fileName: string) => /^\.env|\.(?:env|properties|ini|cfg|conf)$/i.test(fileName);
const yamlFile = (fileName: string) => /\.ya?ml$/i.test(fileName);

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { name: 'aws-access-key-id', regex: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { name: 'aws-secret-access-key', regex: /aws[\w.-]{0,20}?secret[\w.-]{0,20}["']?\s*(?:=|:|:=|=>)\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi, group: 1 },
  { name: 'private-key', regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  { name: 'github-token', regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g },
  // Slack's tokens are numeric ids and then a random part (xoxb-TEAM-BOT-RANDOM); `xoxb-test` style names are not.
  { name: 'slack-token', regex: /\bxox[baprs]-(?:\d+-)+[A-Za-z0-9]{20,}/g },
  { name: 'slack-webhook', regex: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{20,}/g },
  { name: 'stripe-live-key', regex: /\b[rs]k_live_[A-Za-z0-9]{20,}/g },
  { name: 'google-api-key', regex: /\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g },
  { name: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // golive's API tokens are glv_<12 hex>_<43 random>; flag client keys (glf_) share the prefix-and-random shape.
  { name: 'golive-token', regex: /\bgl[vf]_[A-Za-z0-9_-]{24,}/g },
  {
    name: 'assigned-secret',
    regex: new RegExp(String.raw`\b[\w-]{0,40}${SECRET_NAME}[\w-]{0,40}["']?\s*(?:=|:|:=|=>)\s*(["'\x60])([^"'\x60\s]{12,})\1`, 'gi'),
    group: 2,
    generated: true,
  },
  {
    name: 'assigned-secret',
    regex: new RegExp(String.raw`^\s*(?:export\s+)?[\w.-]{0,60}${SECRET_NAME}[\w.-]{0,60}\s*=\s*([^\s"'\x60$#]\S{11,})\s*$`, 'gi'),
    group: 1,
    files: envFile,
    generated: true,
  },
  {
    name: 'assigned-secret',
    regex: new RegExp(String.raw`^\s*[\w.-]{0,60}${SECRET_NAME}[\w.-]{0,60}\s*:\s*([^\s"'\x60$#{}[\]&*!|>,]\S{11,})\s*$`, 'gi'),
    group: 1,
    files: yamlFile,
    generated: true,
  },
];

const PLACEHOLDER = /\$\{|\{\{|<[^>]*>|%\(|\$\(|example|sample|changeme|change[_-]me|placeholder|dummy|fake|redacted|replace|your[_-]|xxxx|\*\*\*|\.\.\.|…/i;

/** Placeholders and uniform strings (`AAAA…`, `0000…`) are never keys. */
function notASecret(value: string): boolean {
  return PLACEHOLDER.test(value) || new Set(value).size < 6;
}

/** A name-matched value is a secret only if it looks generated: two of lower case, upper case, digits; not a path, URL or ARN. */
function looksGenerated(value: string): boolean {
  if (/^(?:\/|\.\.?\/|~\/|arn:)|:\/\/|[().,;]/.test(value)) return false;
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((kind) => kind.test(value)).length;
  return kinds >= 2;
}

export interface Finding {
  file: string;
  line: number;
  pattern: string;
}

/** A test file by the usual conventions: under test/, tests/, __tests__/ or spec/, or named *.test.* / *.spec.* / *_test.*. */
export function isTestFile(path: string): boolean {
  return /(?:^|\/)(?:test|tests|__tests__|spec)\/|\.(?:test|spec)\.[^/]+$|_test\.[^/]+$/.test(path);
}

/**
 * Each (line, kind of secret) in `text` once; the secret itself is never returned. `path` is
 * the file's path inside the scanned folder, with forward slashes.
 */
export function findSecrets(path: string, text: string): { line: number; pattern: string }[] {
  const found: { line: number; pattern: string }[] = [];
  const fileName = basename(path);
  const test = isTestFile(path);
  const patterns = SECRET_PATTERNS.filter((pattern) => (pattern.files?.(fileName) ?? true) && !(pattern.generated && test));
  text.split(/\r?\n/).forEach((line, index) => {
    const kinds = new Set<string>();
    for (const pattern of patterns) {
      // The name-based guess is a fallback: a line a vendor format already matched is reported once.
      if (kinds.has(pattern.name) || (pattern.generated && kinds.size > 0)) continue;
      for (const match of line.matchAll(pattern.regex)) {
        const value = match[pattern.group ?? 0] ?? '';
        if (notASecret(value) || (pattern.generated && !looksGenerated(value))) continue;
        kinds.add(pattern.name);
        break;
      }
    }
    for (const pattern of kinds) found.push({ line: index + 1, pattern });
  });
  return found;
}

const MAX_FINDINGS = 100;
const MAX_UNREADABLE = 20;
/** Git's test for a binary file: a NUL byte in the first 8000 bytes. */
const BINARY_PROBE = 8_000;

interface ScanOptions {
  exclude: readonly string[];
  maxFileBytes: number;
}

/** What one scan saw; findings beyond the first 100 are only counted. */
class Scan {
  findings: Finding[] = [];
  findingsTotal = 0;
  files = new Set<string>();
  filesScanned = 0;
  skipped = { excluded: 0, symlinks: 0, binary: 0, tooLarge: 0, unreadable: 0 };
  unreadable: string[] = [];

  constructor(readonly root: string, readonly options: ScanOptions) {}

  private shown(path: string): string {
    return relative(this.root, path).split(sep).join('/') || basename(path);
  }

  cannotRead(path: string): void {
    this.skipped.unreadable += 1;
    if (this.unreadable.length < MAX_UNREADABLE) this.unreadable.push(this.shown(path));
  }

  async folder(path: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      this.cannotRead(path);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (this.options.exclude.includes(entry.name)) this.skipped.excluded += 1;
      else if (entry.isSymbolicLink()) this.skipped.symlinks += 1;
      else if (entry.isDirectory()) await this.folder(child);
      else if (entry.isFile()) await this.file(child);
    }
  }

  async file(path: string): Promise<void> {
    let content: Buffer;
    try {
      if ((await stat(path)).size > this.options.maxFileBytes) {
        this.skipped.tooLarge += 1;
        return;
      }
      content = await readFile(path);
    } catch {
      this.cannotRead(path);
      return;
    }
    if (content.subarray(0, BINARY_PROBE).includes(0)) {
      this.skipped.binary += 1;
      return;
    }
    const file = this.shown(path);
    for (const { line, pattern } of findSecrets(file, content.toString('utf8'))) {
      this.findingsTotal += 1;
      this.files.add(file);
      if (this.findings.length < MAX_FINDINGS) this.findings.push({ file, line, pattern });
    }
    this.filesScanned += 1;
    if (this.filesScanned % 200 === 0) {
      heartbeat({ filesScanned: this.filesScanned });
      cancellationSignal()?.throwIfAborted();
    }
  }

  reason(): string | undefined {
    const problems: string[] = [];
    if (this.findingsTotal > 0) {
      const first = this.findings.slice(0, 5).map((finding) => `${finding.file}:${finding.line} (${finding.pattern})`);
      const more = this.findingsTotal > first.length ? ` and ${this.findingsTotal - first.length} more` : '';
      problems.push(
        `${this.findingsTotal} possible secret${this.findingsTotal === 1 ? '' : 's'} in ${this.files.size} file${this.files.size === 1 ? '' : 's'}: ` +
          `${first.join(', ')}${more}; move each to a secret store and rotate it (it stays in the repository's history)`,
      );
    }
    if (this.skipped.unreadable > 0) {
      problems.push(
        `${this.skipped.unreadable} ${this.skipped.unreadable === 1 ? 'file or folder' : 'files or folders'} could not be read (${this.unreadable.slice(0, 3).join(', ')}), ` +
          'so the scan is incomplete: let the worker read them, or name them in with.exclude',
      );
    }
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  evidence() {
    const reason = this.reason();
    return {
      ok: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      findings: this.findings,
      findingsTotal: this.findingsTotal,
      filesScanned: this.filesScanned,
      skipped: this.skipped,
      unreadable: this.unreadable,
    };
  }
}

/** Scans a folder (or one file) that exists and returns the evidence secrets.scan reports. */
export async function scanTree(root: string, options: ScanOptions) {
  const scan = new Scan(root, options);
  if ((await stat(root)).isDirectory()) await scan.folder(root);
  else await scan.file(root);
  return scan.evidence();
}

/** secrets.scan on a filesystem target: the repository folder (a checkout) to scan. */
export async function secretsScan(call: ActionCall<'secrets.scan'>) {
  const target = stepTarget(call, 'filesystem');
  const root = target.spec.path;
  if ((await stat(root).catch(() => undefined)) === undefined) {
    throw businessFailure(`secrets.scan ${target.name}: ${root} does not exist or cannot be read; point the target's path at a checkout of the repository`, 'EvidenceMissing');
  }
  return scanTree(root, call.input);
}
