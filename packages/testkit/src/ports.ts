import { createServer } from 'node:net';

/** Ports this process handed out lately: the OS may offer a just-closed port again at once. */
const handedOut = new Set<number>();
const REMEMBERED = 4096;

function listenOnce(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A loopback port that was free a moment ago (for listeners a child process opens). */
export async function freePort(): Promise<number> {
  // NOTE: two calls in a row (a service's PORT and METRICS_PORT) could get the same port, since
  // each probe closes its listener before returning: a port is never handed out twice.
  for (;;) {
    const port = await listenOnce();
    if (handedOut.has(port)) continue;
    if (handedOut.size >= REMEMBERED) handedOut.clear();
    handedOut.add(port);
    return port;
  }
}
