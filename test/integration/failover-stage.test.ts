import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../../runtime/failover-apps.ts';
import { startFailoverStage, STAGE_UPSTREAM, STAGE_UPSTREAM_FILE, type FailoverStage } from '../../runtime/failover-stage.ts';
import { freePort, isListening, run } from '../../stack/process.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { until } from '../support/poll.ts';

const toolchain = loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN });
const nginxBin = requireTool(toolchain, 'nginx');

let home: string;
let stage: FailoverStage;

/** GET /healthz through the edge: status, body, and which site answered. */
async function throughEdge(): Promise<{ status: number; body: string; upstream: string | null }> {
  const response = await fetch(`${stage.edgeUrl}/healthz`);
  return { status: response.status, body: (await response.text()).trim(), upstream: response.headers.get('x-upstream-addr') };
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-stage-'));
  await chmod(home, 0o755);
  // The demo owns 18081/18082 and may run at the same time: the sites get ports of their own here.
  const [a, b] = [await freePort(), await freePort()];
  stage = await startFailoverStage({ home: join(home, 'failover'), pgBin: requireTool(toolchain, 'pgBin'), nginxBin, sitePorts: { a, b } });
}, 120_000);

afterAll(async () => {
  await stage?.stop();
  await rm(home, { recursive: true, force: true });
});

describe('the failover stage', () => {
  it('fails over by hand: site-a serves until its primary dies, site-b once the standby is promoted and the edge moved', async () => {
    expect(stage.env).toEqual({
      DEMO_FAILOVER_PRIMARY_URL: stage.primaryUrl,
      DEMO_FAILOVER_STANDBY_URL: stage.standbyUrl,
      DEMO_EDGE_PREFIX: join(home, 'failover', 'nginx'),
      DEMO_EDGE_URL: stage.edgeUrl,
    });
    expect(await throughEdge()).toEqual({ status: 200, body: 'site-a', upstream: stage.sites.a });
    await until(async () => (stage.writer.acked() >= 20 ? true : undefined), 10_000, 'the writer acknowledged no 20 orders');
    const [standby] = await sql<{ recovery: boolean }>(stage.standbyUrl, 'SELECT pg_is_in_recovery() AS recovery');
    expect(standby?.recovery).toBe(true);

    const killedAt = await stage.killPrimary();
    const down = await throughEdge();
    expect([down.status, down.upstream]).toEqual([503, stage.sites.a]);
    expect(down.body).toMatch(/^site-a: its database does not answer/);
    // Writes fail quietly now: nothing more is acknowledged.
    const ackedAfterKill = stage.writer.acked();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stage.writer.acked()).toBe(ackedAfterKill);

    const declaredAt = new Date();
    await sql(stage.standbyUrl, 'SELECT pg_promote(true, 60)');
    await writeFile(join(stage.nginxPrefix, STAGE_UPSTREAM_FILE), `upstream ${STAGE_UPSTREAM} {\n    server ${stage.sites.b};\n}\n`);
    await run(nginxBin, ['-p', `${stage.nginxPrefix}/`, '-c', 'conf/nginx.conf', '-s', 'reload']);
    const healthy = await until(async () => {
      const answer = await throughEdge();
      return answer.status === 200 ? answer : undefined;
    }, 10_000, 'site-b never answered healthy through the edge');
    expect(healthy).toEqual({ status: 200, body: 'site-b', upstream: stage.sites.b });

    const acked: Ack[] = await stage.writer.stop();
    expect(acked.length).toBe(ackedAfterKill);
    expect(acked.every((ack) => ack.at.getTime() <= killedAt.getTime())).toBe(true);
    // Streaming is asynchronous: at most the orders acknowledged in the last instant before the kill
    // may not have reached the standby.
    const lost = await stage.rowsLost(acked, declaredAt);
    expect(lost.committedBeforeTd).toBe(acked.length);
    expect(lost.lost.every((id) => id > (acked.at(-3)?.id ?? 0))).toBe(true);
    // An order the new primary never saw counts as lost; one acknowledged after T_d does not count at all.
    const ghost = { id: 1_000_000, at: new Date(declaredAt.getTime() - 1) };
    const late = { id: 1_000_001, at: new Date(declaredAt.getTime() + 1) };
    expect(await stage.rowsLost([...acked, ghost, late], declaredAt)).toEqual({ committedBeforeTd: acked.length + 1, lost: [...lost.lost, ghost.id] });
  }, 60_000);

  it('stops everything it started and keeps its data on disk', async () => {
    const siteB = Number(stage.sites.b.split(':')[1]);
    await stage.stop();
    expect(await isListening('127.0.0.1', siteB)).toBe(false);
    expect(await fetch(`${stage.edgeUrl}/healthz`).then(() => 'answered', () => 'no answer')).toBe('no answer');
    expect(await sql(stage.standbyUrl, 'SELECT 1').then(() => 'answered', () => 'no answer')).toBe('no answer');
    expect(existsSync(join(home, 'failover', 'nginx', 'logs', 'error.log'))).toBe(true);
    expect(await readFile(join(home, 'failover', 'nginx', STAGE_UPSTREAM_FILE), 'utf8')).toContain(stage.sites.b);
  });

  it('waits while another process holds a site port, saying so, and starts once it is free', async () => {
    const taken = await freePort();
    const server = createServer().listen(taken, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const said: string[] = [];
    const starting = startFailoverStage({
      home: join(home, 'again'), pgBin: requireTool(toolchain, 'pgBin'), nginxBin, sitePorts: { a: await freePort(), b: taken }, logger: { info: (message: string) => said.push(message) },
    });
    await until(async () => (said.length > 0 ? true : undefined), 10_000, 'the stage never said it waits');
    expect(said[0]).toBe(`port ${taken} of 127.0.0.1 is taken: waiting for the failover stage that holds it to finish`);
    await new Promise((resolve) => server.close(resolve));
    const stage = await starting;
    try {
      expect(stage.sites.b).toBe(`127.0.0.1:${taken}`);
    } finally {
      await stage.stop();
    }
  }, 60_000);
});
