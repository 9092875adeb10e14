import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { SLASH_COMMAND } from '../../slack/ids.ts';
import { SLACK_EVENTS_PATH } from '../../slack/receiver.ts';

const root = new URL('../../', import.meta.url).pathname;

const Manifest = z.looseObject({
  display_information: z.looseObject({ name: z.string().min(1), description: z.string().max(140) }),
  features: z.looseObject({
    bot_user: z.looseObject({ display_name: z.string().min(1) }),
    slash_commands: z.array(z.looseObject({ command: z.string(), url: z.url(), description: z.string(), should_escape: z.boolean() })),
  }),
  oauth_config: z.looseObject({ scopes: z.strictObject({ bot: z.array(z.string()) }) }),
  settings: z.looseObject({
    interactivity: z.looseObject({ is_enabled: z.literal(true), request_url: z.url() }),
    socket_mode_enabled: z.literal(false),
  }),
});

/** The bot scopes each Slack Web API method golive may call needs (from its page on docs.slack.dev). */
const METHOD_SCOPES: Record<string, string[]> = {
  'auth.test': [],
  'views.open': [],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'usergroups.users.list': ['usergroups:read'],
};
/** Scopes no method call shows: the slash command itself, and posting to public channels the bot was not invited to. */
const WITHOUT_A_METHOD = ['commands', 'chat:write.public'];

async function sources(folder: string): Promise<string[]> {
  const entries = await readdir(join(root, folder), { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name));
  return Promise.all(files.map((file) => readFile(file, 'utf8')));
}

/** The Web API methods golive's code calls, through Bolt's client (`client.chat.postMessage(`) or by name (`'chat.postMessage'`). */
async function calledMethods(): Promise<string[]> {
  const code = (await Promise.all(['slack', 'activities', 'runtime'].map(sources))).flat().join('\n');
  return Object.keys(METHOD_SCOPES).filter((method) => code.includes(`.${method}(`) || code.includes(`'${method}'`) || code.includes(`${method}\``) || code.includes(`}${method}`));
}

describe('the Slack app manifest', () => {
  it('registers /golive and interactivity at golive\'s /slack/events, placeholders the admin replaces', async () => {
    const manifest = Manifest.parse(parse(await readFile(join(root, 'slack/manifest.yaml'), 'utf8')));
    expect(manifest.features.slash_commands.map((command) => command.command)).toEqual([SLASH_COMMAND]);
    const urls = [manifest.features.slash_commands[0]?.url, manifest.settings.interactivity.request_url];
    expect(urls).toEqual([`https://golive.example.com${SLACK_EVENTS_PATH}`, `https://golive.example.com${SLACK_EVENTS_PATH}`]);
    expect(manifest.features.slash_commands[0]?.should_escape).toBe(false);
  });

  it('asks for the scopes of every Web API method golive calls, and for no scope nothing uses', async () => {
    const manifest = Manifest.parse(parse(await readFile(join(root, 'slack/manifest.yaml'), 'utf8')));
    const methods = await calledMethods();
    expect(methods).toEqual(expect.arrayContaining(['auth.test', 'views.open', 'chat.postEphemeral', 'chat.postMessage']));
    const needed = new Set(methods.flatMap((method) => METHOD_SCOPES[method] ?? []));
    const granted = manifest.oauth_config.scopes.bot;
    expect([...needed].filter((scope) => !granted.includes(scope))).toEqual([]);
    expect(granted.filter((scope) => !needed.has(scope) && !WITHOUT_A_METHOD.includes(scope))).toEqual([]);
    expect(granted).toEqual(expect.arrayContaining(WITHOUT_A_METHOD));
  });
});
