import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { findSecrets, isTestFile } from '../../activities/evidence/secrets.ts';
import { actionRequest } from '../support/actions.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const activities = createActionActivities({ env: {}, pgBin: '' });

/**
 * Fake secrets are assembled here at test time, from a fixed seed, so this file holds no
 * secret-looking literal and the project's own scan of its repository stays clean.
 */
function generator(seed: string) {
  let counter = 0;
  return (length: number, alphabet: string) => {
    const bytes = createHash('sha512').update(`${seed}:${(counter += 1)}`).digest();
    return Array.from({ length }, (_, index) => alphabet[(bytes[index % bytes.length] ?? 0) % alphabet.length]).join('');
  };
}
const random = generator('golive-secrets-scan');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const ALNUM = `${UPPER}abcdefghijklmnopqrstuvwxyz${DIGITS}`;
const BASE64 = `${ALNUM}+/`;

const fake = {
  awsKeyId: ['AK', 'IA', random(16, UPPER + DIGITS)].join(''),
  awsSecret: random(40, BASE64),
  github: ['gh', 'p_', random(36, ALNUM)].join(''),
  githubPat: ['github', '_pat_', random(60, ALNUM)].join(''),
  slack: ['xo', 'xb-', random(12, DIGITS), '-', random(13, DIGITS), '-', random(24, ALNUM)].join(''),
  slackHook: ['https://hooks.', 'slack.com/services/T', random(8, UPPER), '/B', random(8, UPPER), '/', random(24, ALNUM)].join(''),
  stripe: ['sk', '_live_', random(24, ALNUM)].join(''),
  google: ['AI', 'za', random(35, ALNUM)].join(''),
  jwt: [{ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', iat: 1_767_225_600 }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + `.${random(43, ALNUM)}`,
  golive: ['gl', 'v_', random(12, 'abcdef0123456789'), '_', random(43, ALNUM)].join(''),
  password: `Wq9${random(13, ALNUM)}`,
  envPassword: `Zx7${random(15, ALNUM)}`,
  yamlKey: `Kp4${random(21, ALNUM)}`,
};
const privateKeyHeader = ['-----BEGIN RSA', 'PRIVATE KEY-----'].join(' ');

/** The files of a repository with secrets in it, and files that only look like it. */
const REPOSITORY: Record<string, string> = {
  'README.md': `# shop\nThe AWS docs' sample key ${['AK', 'IA', 'IOSFODNN7', 'EXAMPLE'].join('')} is not a secret.\n`,
  '.env.example': ['AWS_SECRET_ACCESS_KEY=', 'API_TOKEN=changeme', 'SLACK_BOT_TOKEN=<your bot token>', 'DB_PASSWORD=${DB_PASSWORD}', ''].join('\n'),
  'config/aws.py': `# AWS\nAWS_ACCESS_KEY_ID = "${fake.awsKeyId}"\naws_secret_access_key = "${fake.awsSecret}"\n`,
  'config/settings.py': `DEBUG = False\nDATABASE_PASSWORD = "${fake.password}"\n`,
  'config/production.env': `SMTP_HOST=mail.internal\nSMTP_PASSWORD=${fake.envPassword}\n`,
  'deploy/app.yaml': `service: shop\ncredentials:\n  api_key: ${fake.yamlKey}\n  password: \${DB_PASSWORD}\n  token: "{{ .Values.token }}"\n`,
  'deploy/id_rsa': `${privateKeyHeader}\n${random(64, BASE64)}\n${random(64, BASE64)}\n`,
  'src/auth.json': `{\n  "session": "${fake.jwt}"\n}\n`,
  'src/clients.ts': [
    `const github = new Octokit({ auth: '${fake.github}' });`,
    `const pat = '${fake.githubPat}';`,
    `const slack = new WebClient('${fake.slack}');`,
    `const alerts = '${fake.slackHook}';`,
    `const stripe = new Stripe('${fake.stripe}');`,
    `const maps = '${fake.google}';`,
    `const golive = '${fake.golive}';`,
    '',
  ].join('\n'),
  'src/names.ts': [
    "const tokenHeader = 'x-session-token-name';",
    'const password = process.env.DB_PASSWORD;',
    "const secretPath = '/run/secrets/DbPassword1';",
    `const uniform = '${['AK', 'IA', 'A'.repeat(16)].join('')}';`,
    '',
  ].join('\n'),
  'test/login.test.ts': `const password = "${fake.password}";\nconst slack = '${fake.slack}';\n`,
  'node_modules/leftpad/index.js': `module.exports = '${fake.github}';\n`,
};

let repository = '';
const scan = (path: string, input: Record<string, unknown> = {}) =>
  activities['secrets.scan'](actionRequest('secrets.scan', input, { target: { name: 'repository', spec: { type: 'filesystem', path } } }));

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), 'golive-secrets-'));
  for (const [file, text] of Object.entries(REPOSITORY)) {
    await mkdir(dirname(join(repository, file)), { recursive: true });
    await writeFile(join(repository, file), text);
  }
  await mkdir(join(repository, 'assets'));
  await writeFile(join(repository, 'assets', 'logo.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]), Buffer.from(fake.awsKeyId)]));
  await writeFile(join(repository, 'assets', 'dump.sql'), `${'-- padding\n'.repeat(200)}INSERT INTO keys VALUES ('${fake.stripe}');\n`);
  await symlink(join(repository, 'config', 'aws.py'), join(repository, 'aws-link.py'));
});

afterAll(() => rm(repository, { recursive: true, force: true }));

describe('secrets.scan', () => {
  it('reports each secret as FILE:LINE and its kind, and skips placeholders, excluded folders, symlinks, binary and large files', async () => {
    const result = await scan(repository, { maxFileBytes: 2_000 });
    expect(result.findings).toEqual([
      { file: 'config/aws.py', line: 2, pattern: 'aws-access-key-id' },
      { file: 'config/aws.py', line: 3, pattern: 'aws-secret-access-key' },
      { file: 'config/production.env', line: 2, pattern: 'assigned-secret' },
      { file: 'config/settings.py', line: 2, pattern: 'assigned-secret' },
      { file: 'deploy/app.yaml', line: 3, pattern: 'assigned-secret' },
      { file: 'deploy/id_rsa', line: 1, pattern: 'private-key' },
      { file: 'src/auth.json', line: 2, pattern: 'jwt' },
      { file: 'src/clients.ts', line: 1, pattern: 'github-token' },
      { file: 'src/clients.ts', line: 2, pattern: 'github-token' },
      { file: 'src/clients.ts', line: 3, pattern: 'slack-token' },
      { file: 'src/clients.ts', line: 4, pattern: 'slack-webhook' },
      { file: 'src/clients.ts', line: 5, pattern: 'stripe-live-key' },
      { file: 'src/clients.ts', line: 6, pattern: 'google-api-key' },
      { file: 'src/clients.ts', line: 7, pattern: 'golive-token' },
      { file: 'test/login.test.ts', line: 2, pattern: 'slack-token' },
    ]);
    expect(result).toMatchObject({
      ok: false,
      findingsTotal: 15,
      filesScanned: 11,
      skipped: { excluded: 1, symlinks: 1, binary: 1, tooLarge: 1, unreadable: 0 },
    });
    expect(result.reason).toMatch(/^15 possible secrets in 8 files: config\/aws\.py:2 \(aws-access-key-id\), .* and 10 more; move each to a secret store/);
  });

  it('never puts a secret, or any part of one, in its result', async () => {
    const text = JSON.stringify(await scan(repository));
    for (const secret of Object.values(fake)) {
      expect(text).not.toContain(secret.slice(-12));
    }
  });

  it('lists the first 100 findings and counts the rest', async () => {
    const many = await mkdtemp(join(tmpdir(), 'golive-secrets-many-'));
    try {
      const lines = Array.from({ length: 130 }, () => `key = '${['AI', 'za', random(35, ALNUM)].join('')}'`);
      await writeFile(join(many, 'keys.txt'), `${lines.join('\n')}\n`);
      const result = await scan(many);
      expect(result.findings).toHaveLength(100);
      expect(result).toMatchObject({ ok: false, findingsTotal: 130, filesScanned: 1 });
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  });

  it('scans a single file when the target names one', async () => {
    expect(await scan(join(repository, 'src', 'names.ts'))).toMatchObject({ ok: true, findings: [], filesScanned: 1 });
  });

  it('fails without retry, naming the target, when the folder does not exist', async () => {
    await expect(scan(join(repository, 'no-such-checkout'))).rejects.toMatchObject({
      type: 'EvidenceMissing',
      nonRetryable: true,
      message: expect.stringMatching(/^secrets\.scan repository: .*no-such-checkout does not exist or cannot be read; point the target's path at a checkout/),
    });
  });

  it("finds nothing in golive's own repository (the folders .gitignore names are not the repository)", async () => {
    const ignored = (await readFile(join(ROOT, '.gitignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim().replace(/^\/|\/$/g, ''))
      .filter((line) => line !== '' && !line.startsWith('#') && !/[*?[\]]/.test(line));
    const result = await scan(ROOT, { exclude: ['.git', ...ignored] });
    expect(result.findings).toEqual([]);
    expect(result).toMatchObject({ ok: true, findingsTotal: 0, skipped: { unreadable: 0 } });
    expect(result.filesScanned).toBeGreaterThan(100);
  });
});

describe('findSecrets', () => {
  it('reports a line once per kind and the name-based guess only where no vendor format matched', () => {
    const line = `STRIPE_API_KEY = "${fake.stripe}"; GITHUB_TOKEN = "${fake.github}"`;
    expect(findSecrets('billing.py', line)).toEqual([
      { line: 1, pattern: 'github-token' },
      { line: 1, pattern: 'stripe-live-key' },
    ]);
  });

  it('ignores name-based values that are paths, URLs, single-case words or template references', () => {
    const text = [
      "client_secret = 'https://vault.internal/v1/Secret/Shop'",
      "api_key = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:Shop'",
      "auth_token = 'correct-horse-battery-staple'",
      'db_password = `${process.env.DB_PASSWORD}`',
    ].join('\n');
    expect(findSecrets('settings.py', text)).toEqual([]);
  });

  it.each([
    ['test/fixtures/db.ts', true],
    ['src/login.test.ts', true],
    ['pkg/store_test.go', true],
    ['spec/models/user_spec.rb', true],
    ['src/testing.ts', false],
    ['contest/entry.ts', false],
  ])('treats %s as a test file: %s', (path, expected) => expect(isTestFile(path)).toBe(expected));
});
