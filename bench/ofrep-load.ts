/**
 * The load of bench/ofrep.ts, in a process of its own so it does not share an event loop with
 * the server it measures: `concurrency` keep-alive connections, each sending one POST after
 * another for `seconds`, timing every answer.
 */
import net from 'node:net';
import { percentile } from './stats.ts';

export interface LoadRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  concurrency: number;
  seconds: number;
  /** Requests per second offered on a fixed schedule (open loop); absent: each connection sends as fast as answers come. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  /** Answers other than 200, and requests that failed. */
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * One keep-alive connection speaking just enough HTTP/1.1 for this load: it writes the same
 * request again as soon as the previous answer (Content-Length bytes after the headers) is in.
 * Lighter than node's http client, whose own cost capped a raw node server near 5,000/s on a
 * 2-core machine: the figures are the server's, not the load's.
 */
function connect(url: URL, request: Buffer): Promise<{ send(): Promise<number>; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    let buffered: Buffer = Buffer.alloc(0);
    let closed = false;
    let waiting: ((status: number) => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const headerEnd = buffered.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = buffered.subarray(0, headerEnd).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < headerEnd + 4 + length) return;
      buffered = buffered.subarray(headerEnd + 4 + length);
      const done = waiting;
      waiting = undefined;
      done?.(Number(head.slice(9, 12)));
    });
    socket.once('error', (error) => (waiting ? waiting(0) : reject(error)));
    socket.once('close', () => {
      closed = true;
      waiting?.(0);
    });
    socket.once('connect', () =>
      resolve({
        send: () => new Promise((answered) => {
          if (closed) return answered(0);
          waiting = answered;
          socket.write(request);
        }),
        close: () => socket.destroy(),
      }));
  });
}

function requestBytes(load: LoadRequest, url: URL): Buffer {
  const headers = { host: url.host, connection: 'keep-alive', ...load.headers, 'content-length': String(Buffer.byteLength(load.body)) };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return Buffer.from(`POST ${url.pathname} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${load.body}`);
}

type Connection = Awaited<ReturnType<typeof connect>>;

interface Tally {
  latencies: number[];
  errors: number;
}

/** Closed loop: every connection sends its next request when the last answer is in; throughput is what the server gives. */
async function asFastAsAnswered(connections: Connection[], until: number, tally: Tally): Promise<void> {
  const loop = async (connection: Connection) => {
    while (performance.now() < until) {
      const sent = performance.now();
      const status = await connection.send();
      tally.latencies.push(performance.now() - sent);
      if (status !== 200) tally.errors += 1;
    }
  };
  await Promise.all(connections.map(loop));
}

/**
 * Open loop: `rate` requests a second on a fixed schedule (a 1 ms tick sends those due), each
 * timed from its tick, so a slow answer that holds up the next requests counts against the
 * server (no coordinated omission), but the tick's own lag does not.
 */
function onSchedule(connections: Connection[], rate: number, started: number, until: number, tally: Tally): Promise<void> {
  const idle = [...connections];
  const backlog: number[] = [];
  let [scheduled, inFlight] = [0, 0];
  return new Promise((resolve) => {
    const dispatch = (connection: Connection, due: number) => {
      inFlight += 1;
      void connection.send().then((status) => {
        inFlight -= 1;
        tally.latencies.push(performance.now() - due);
        if (status !== 200) tally.errors += 1;
        const next = backlog.shift();
        if (next === undefined) idle.push(connection);
        else dispatch(connection, next);
      });
    };
    const timer = setInterval(() => {
      const tick = performance.now();
      const now = Math.min(tick, until);
      for (; scheduled < Math.floor(((now - started) / 1_000) * rate); scheduled += 1) {
        const connection = idle.pop();
        if (connection) dispatch(connection, tick);
        else backlog.push(tick);
      }
      if (performance.now() >= until && inFlight === 0 && backlog.length === 0) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
}

async function run(load: LoadRequest): Promise<LoadResult> {
  const url = new URL(load.url);
  const request = requestBytes(load, url);
  const connections = await Promise.all(Array.from({ length: load.concurrency }, () => connect(url, request)));
  const tally: Tally = { latencies: [], errors: 0 };
  const started = performance.now();
  const until = started + load.seconds * 1_000;
  if (load.rate === undefined) await asFastAsAnswered(connections, until, tally);
  else await onSchedule(connections, load.rate, started, until, tally);
  const elapsed = (performance.now() - started) / 1_000;
  for (const connection of connections) connection.close();
  const { latencies, errors } = tally;
  return { requests: latencies.length, errors, perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

process.once('message', (load: LoadRequest) => {
  void run(load).then((result) => {
    process.send?.(result);
    process.disconnect();
  });
});
