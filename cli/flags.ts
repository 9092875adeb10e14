import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import type { FlagState } from '../activities/flags/provider.ts';
import { loadConfig } from '../config/env.ts';
import { FLAG_NAME } from '../definitions/flag-eval.ts';
import { createPool } from '../runtime/connections.ts';
import { NotFoundError, StackUnavailable, UserError } from '../runtime/errors.ts';
import { readLiveStack } from '../runtime/stack-file.ts';
import {
  CreatedFlagKeyShape, FlagDetailShape, FlagKeyListShape, FlagListShape, FlagUpdateShape, RevokedFlagKeyShape,
} from '../server/flag-schemas.ts';
import type { CreatedFlagKey, FlagChangeRecord, FlagKeyInfo, FlagStore, FlagUpdateResult } from '../store/flags.ts';
import { actingUser, print, printJson } from './context.ts';
import { formatFlag, formatFlags, formatKeys, formatUpdate } from './format-flags.ts';
import { remoteApi, type RemoteApi } from './remote.ts';

const DEFAULT_ENVIRONMENT = 'production';
const UNDEFINED_TABLE = '42P01';
const json = () => new Option('--json', 'print JSON');
const environmentOption = () => new Option('--environment <name>', 'the flag\'s environment').default(DEFAULT_ENVIRONMENT);

interface FlagSetting {
  percent?: number;
  enabled?: boolean;
  environment: string;
  comment?: string;
}

/** What the commands need, answered by golive's API (GOLIVE_URL) or by golive's Postgres directly. */
interface FlagClient {
  list(environment?: string): Promise<FlagState[]>;
  get(key: string, environment: string): Promise<{ flag: FlagState; changes: FlagChangeRecord[] }>;
  set(key: string, setting: FlagSetting): Promise<{ flag: FlagState; change: FlagUpdateResult }>;
  createKey(name: string, environment: string): Promise<CreatedFlagKey>;
  listKeys(): Promise<FlagKeyInfo[]>;
  revokeKey(id: string): Promise<{ key: FlagKeyInfo; changed: boolean }>;
}

const checked = <T>(shape: z.ZodType) => z.custom<T>((value) => shape.safeParse(value).success);
const noFlag = (key: string, environment: string) =>
  new NotFoundError(`no flag ${key} in ${environment}: list flags with \`golive flags list\`, or create it with \`golive flags set ${key} --percent 0 --environment ${environment}\``);
const noKey = (id: string) => new NotFoundError(`no flag-read key ${id}: list them with \`golive flags keys list\``);

/** Through the API: the token's user acts, and the server checks that they are a release manager. */
function remoteClient(api: RemoteApi): FlagClient {
  const flagPath = (key: string) => `/api/flags/${encodeURIComponent(key)}`;
  return {
    list: async (environment) =>
      (await api.request('GET', `/api/flags${environment ? `?environment=${encodeURIComponent(environment)}` : ''}`, checked<{ flags: FlagState[] }>(FlagListShape))).flags,
    get: (key, environment) => api.request('GET', `${flagPath(key)}?environment=${encodeURIComponent(environment)}`, checked<{ flag: FlagState; changes: FlagChangeRecord[] }>(FlagDetailShape)),
    set: (key, setting) => api.request('PUT', flagPath(key), checked<{ flag: FlagState; change: FlagUpdateResult }>(FlagUpdateShape), setting),
    createKey: (name, environment) => api.request('POST', '/api/flag-keys', checked<CreatedFlagKey>(CreatedFlagKeyShape), { name, environment }),
    listKeys: async () => (await api.request('GET', '/api/flag-keys', checked<{ keys: FlagKeyInfo[] }>(FlagKeyListShape))).keys,
    revokeKey: (id) => api.request('DELETE', `/api/flag-keys/${encodeURIComponent(id)}`, checked<{ key: FlagKeyInfo; changed: boolean }>(RevokedFlagKeyShape)),
  };
}

/** On golive's Postgres: a trusted operator, acting as GOLIVE_USER or the login name, channel cli. */
function localClient(store: FlagStore, actor: string): FlagClient {
  const who = { name: actor, channel: 'cli' as const };
  return {
    list: (environment) => store.list(environment),
    async get(key, environment) {
      const flag = await store.get(key, environment);
      if (!flag) throw noFlag(key, environment);
      return { flag, changes: await store.changes(key, environment, 20) };
    },
    async set(key, setting) {
      const change = await store.update({ key, ...setting, actor, channel: 'cli' });
      const flag = change && (await store.get(key, setting.environment));
      if (!change || !flag) throw noFlag(key, setting.environment);
      return { flag, change };
    },
    createKey: (name, environment) => store.createKey({ name, environment }, who),
    listKeys: () => store.listKeys(),
    async revokeKey(id) {
      const revoked = await store.revokeKey(id, who);
      if (!revoked) throw noKey(id);
      return revoked;
    },
  };
}

/** The API with GOLIVE_URL and GOLIVE_TOKEN; else golive's Postgres (DATABASE_URL, or a running `golive dev`). */
async function withFlags<T>(work: (client: FlagClient) => Promise<T>): Promise<T> {
  const api = remoteApi();
  if (api) return work(remoteClient(api));
  const config = loadConfig();
  const databaseUrl = config.databaseUrl ?? readLiveStack(config.home)?.databaseUrl;
  if (!databaseUrl) throw new StackUnavailable('golive flags needs golive\'s API (GOLIVE_URL and GOLIVE_TOKEN) or its Postgres (DATABASE_URL, or `golive dev` running in this folder)');
  const pool = createPool(databaseUrl);
  const { createFlagStore } = await import('../store/flags.ts');
  try {
    return await work(localClient(createFlagStore(pool), actingUser(undefined, config)));
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === UNDEFINED_TABLE) {
      throw new UserError("golive's database has no flag tables yet: start `golive server` or `golive dev` once so it applies its migrations");
    }
    throw error;
  } finally {
    await pool.end();
  }
}

/** Commander parser of --percent: 0 to 100, at most two decimals. */
function percentage(text: string): number {
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(text) || Number(text) > 100) {
    throw new InvalidArgumentError(`give a percentage from 0 to 100 with at most two decimals, like --percent 25 or --percent 12.5; "${text}" is not one`);
  }
  return Number(text);
}

function flagName(value: string, what: string): string {
  if (!FLAG_NAME.test(value)) throw new UserError(`${what} "${value}" must be one word of letters, digits, ".", "_" and "-", like checkout-v2`);
  return value;
}

interface SetOptions {
  percent?: number;
  on?: boolean;
  off?: boolean;
  environment: string;
  comment?: string;
  json?: boolean;
}

/** --percent, --on and --off as one change; at least one of them, and never both --on and --off. */
function settingOf(key: string, options: SetOptions): FlagSetting {
  if (options.on && options.off) throw new UserError('--on and --off contradict each other: give one');
  if (options.percent === undefined && !options.on && !options.off) {
    throw new UserError(`say what to set: \`golive flags set ${key} --percent N\` (0 to 100), \`--on\` or \`--off\``);
  }
  const enabled = options.on ? true : options.off ? false : undefined;
  return { percent: options.percent, enabled, environment: flagName(options.environment, 'environment'), comment: options.comment };
}

function keysCommand(): Command {
  const keys = new Command('keys').description('flag-read keys: what apps send to evaluate flags over OFREP (one environment each)');
  keys.command('create')
    .description('create a flag-read key; its secret is printed once and golive keeps only its hash')
    .argument('<name>', 'what reads with it, like checkout-web')
    .addOption(environmentOption())
    .addOption(json())
    .action(async (name: string, options: { environment: string; json?: boolean }) => {
      const environment = flagName(options.environment, 'environment');
      const created = await withFlags((client) => client.createKey(name, environment));
      if (options.json) return printJson(created);
      console.log(created.secret);
      console.error(`created flag-read key ${created.id} (${created.name}) for the flags of ${created.environment}`);
      console.error('it is shown this once: golive keeps only its hash. Apps send it as Authorization: Bearer <key> to /ofrep/v1/evaluate/flags');
      console.error(`revoke it with \`golive flags keys revoke ${created.id}\``);
    });
  keys.command('list')
    .description('every flag-read key: name, environment, status (never the secret)')
    .addOption(json())
    .action(async (options: { json?: boolean }) => {
      const list = await withFlags((client) => client.listKeys());
      print({ keys: list }, options.json, (answer) => formatKeys(answer.keys));
    });
  keys.command('revoke')
    .description('revoke a flag-read key; OFREP evaluations with it are refused (401) within 30 s')
    .argument('<id>', 'the key id (from `golive flags keys list`)')
    .action(async (id: string) => {
      const { key, changed } = await withFlags((client) => client.revokeKey(id));
      console.log(changed ? `revoked flag-read key ${id} (${key.name}); OFREP servers refuse it within 30 s` : `flag-read key ${id} (${key.name}) was already revoked; nothing changed`);
    });
  return keys;
}

/** `golive flags list|get|set|keys`: golive's built-in feature flags, served to apps over OFREP. */
export function flagsCommand(): Command {
  const flags = new Command('flags').description("golive's built-in feature flags, served over OFREP: list, inspect, roll out, switch off, and the keys apps read them with");
  flags.command('list')
    .description('every flag, or those of one environment')
    .option('--environment <name>', 'only this environment')
    .addOption(json())
    .action(async (options: { environment?: string; json?: boolean }) => {
      const environment = options.environment === undefined ? undefined : flagName(options.environment, 'environment');
      const list = await withFlags((client) => client.list(environment));
      print({ flags: list }, options.json, (answer) => formatFlags(answer.flags, environment));
    });
  flags.command('get')
    .description("a flag's state and its newest changes: who, through what, which run, from → to, when")
    .argument('<key>', 'the flag key')
    .addOption(environmentOption())
    .addOption(json())
    .action(async (key: string, options: { environment: string; json?: boolean }) => {
      const answer = await withFlags((client) => client.get(flagName(key, 'flag key'), flagName(options.environment, 'environment')));
      print(answer, options.json, formatFlag);
    });
  flags.command('set')
    .description("set a flag's rollout percentage (creating the flag), or switch it on or off; through the API only a release manager may")
    .argument('<key>', 'the flag key')
    .addOption(new Option('--percent <n>', 'the share of targeting keys that get true, 0 to 100').argParser(percentage))
    .option('--on', 'switch the flag on: evaluations follow its percentage again')
    .option('--off', 'switch the flag off: every evaluation answers false')
    .addOption(environmentOption())
    .option('--comment <text>', 'why; kept in the flag\'s audit')
    .addOption(json())
    .action(async (key: string, options: SetOptions) => {
      const setting = settingOf(flagName(key, 'flag key'), options);
      const answer = await withFlags((client) => client.set(key, setting));
      print(answer, options.json, (result) => formatUpdate(result.change));
    });
  flags.addCommand(keysCommand());
  return flags;
}
