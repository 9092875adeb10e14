import { describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { resolveTarget } from '../../definitions/targets.ts';
import { joinUrl } from '../../activities/http/checks.ts';
import { parseUpstream, writeUpstream } from '../../activities/nginx/upstream.ts';
import { libpqEnvironment } from '../../activities/postgres/client.ts';
import { ACTION_NAMES } from '../../definitions/actions.ts';
import { actionRequest } from '../support/actions.ts';

const activities = createActionActivities({ env: {}, pgBin: '/nonexistent' });

describe('action activities', () => {
  it('has exactly one activity per catalog action', () => {
    expect(Object.keys(activities).sort()).toEqual([...ACTION_NAMES].sort());
  });

  it('noop echoes its note', async () => {
    expect(await activities.noop(actionRequest('noop', { note: 'cut-over starts' }))).toEqual({ note: 'cut-over starts' });
  });

  it('rejects a with the catalog does not accept, without retry', async () => {
    await expect(activities['postgres.query'](actionRequest('postgres.query', { sql: '' }))).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: 'postgres.query step postgres-query: with.sql: Too small: expected string to have >=1 characters',
    });
  });

  it('rejects a target of the wrong type, naming it', async () => {
    const target = { name: 'edge', spec: { type: 'nginx', prefix: '/srv/nginx', config: 'conf/nginx.conf', upstreamFile: 'up.conf' } } as const;
    await expect(activities['postgres.query'](actionRequest('postgres.query', { sql: 'SELECT 1' }, { target }))).rejects.toMatchObject({
      type: 'InvalidTarget',
      message: 'postgres.query cannot act on target edge: it is a nginx target, not postgres',
    });
  });
});

describe('resolveTarget', () => {
  it('substitutes every ${VAR} in every string field', () => {
    const spec = { type: 'route53', hostedZoneId: '${ZONE}', region: 'eu-${REGION_SUFFIX}' } as const;
    expect(resolveTarget('dns', spec, { ZONE: 'Z123', REGION_SUFFIX: 'west-1' })).toEqual({ type: 'route53', hostedZoneId: 'Z123', region: 'eu-west-1' });
  });

  it('treats an empty variable as missing and never shows other values', () => {
    const spec = { type: 'postgres', url: '${DB_URL}?sslmode=${SSL_MODE}' } as const;
    const resolving = () => resolveTarget('orders-db', spec, { DB_URL: 'postgres://app:hunter2@db/orders', SSL_MODE: '' });
    expect(resolving).toThrow('target orders-db: environment variable SSL_MODE (used in url) is not set on this worker');
    expect(resolving).not.toThrow(/hunter2/);
  });
});

describe('joinUrl', () => {
  it('appends the path and keeps query parameters of both', () => {
    expect(joinUrl('https://api.test/v1/?key=k', '/healthz?deep=1')).toBe('https://api.test/v1/healthz?key=k&deep=1');
    expect(joinUrl('http://127.0.0.1:8080', '/')).toBe('http://127.0.0.1:8080/');
    expect(joinUrl('http://127.0.0.1:8080/base', 'status')).toBe('http://127.0.0.1:8080/base/status');
  });
});

describe('nginx upstream files', () => {
  const text = '# managed by golive\nupstream app {\n    server 10.0.0.1:80 weight=3;\n    server 10.0.0.2:80;  # spare\n    keepalive 8;\n}\nupstream other { server 10.9.9.9:80; }\n';

  it('reads the servers and other directives of one upstream', () => {
    expect(parseUpstream(text, 'app')).toEqual({ servers: ['10.0.0.1:80', '10.0.0.2:80'], directives: ['keepalive 8'] });
    expect(parseUpstream(text, 'missing')).toBeUndefined();
  });

  it('rewrites only the named upstream, keeping its other directives', () => {
    const written = writeUpstream(text, 'app', ['10.0.0.3:80'], ['keepalive 8']);
    expect(parseUpstream(written, 'app')).toEqual({ servers: ['10.0.0.3:80'], directives: ['keepalive 8'] });
    expect(parseUpstream(written, 'other')?.servers).toEqual(['10.9.9.9:80']);
    expect(written.startsWith('# managed by golive\n')).toBe(true);
  });

  it('appends the upstream when the file does not have it', () => {
    expect(writeUpstream('', 'app', ['127.0.0.1:9000'])).toBe('upstream app {\n    server 127.0.0.1:9000;\n}\n');
  });
});

describe('libpqEnvironment', () => {
  it('hands pg_dump and pg_restore the connection, password included, through the environment', () => {
    const target = { name: 'orders-db', spec: { type: 'postgres', url: 'postgres://app%40corp:p%2Fss@db.internal:6432/orders?sslmode=require' } } as const;
    expect(libpqEnvironment(target)).toEqual({
      PGCONNECT_TIMEOUT: '10',
      PGHOST: 'db.internal',
      PGPORT: '6432',
      PGUSER: 'app@corp',
      PGPASSWORD: 'p/ss',
      PGDATABASE: 'orders',
      PGSSLMODE: 'require',
    });
    expect(libpqEnvironment(target, 'orders_restore').PGDATABASE).toBe('orders_restore');
  });
});
