import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a Postgres server that passes everything through until a client sends
 * `marker` (for example a statement's text); from then on that connection's answers are held, so
 * the client is left waiting on a statement the server has already run. A crash test uses it to
 * stop a worker in the middle of a step, after its side effect and before it learns the outcome.
 */
export interface HoldingProxy {
  /** The server's URL with the proxy's address in place of the server's. */
  url: string;
  /** Settles once a client has sent the marker and its answers are being held. */
  held: Promise<void>;
  close(): Promise<void>;
}

export async function holdAfter(serverUrl: string, marker: string): Promise<HoldingProxy> {
  const target = new URL(serverUrl);
  const sockets = new Set<Socket>();
  let markSeen!: () => void;
  const held = new Promise<void>((resolve) => { markSeen = resolve; });
  const pattern = Buffer.from(marker);

  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => client.destroy());
      socket.on('close', () => { client.destroy(); upstream.destroy(); });
    }
    let holding = false;
    let tail = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      // Carry the end of the last chunk so a marker split across two chunks is still seen.
      const seen = Buffer.concat([tail, chunk]);
      tail = seen.subarray(Math.max(0, seen.length - pattern.length + 1));
      if (!holding && seen.includes(pattern)) {
        holding = true;
        markSeen();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const proxied = new URL(serverUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString(),
    held,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
