import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, chosen by the kernel. A random number in a fixed range
 * is not: the kernel hands ports of the ephemeral range (32768–60999) to outgoing connections, and
 * a full run opens thousands, so a fixed guess now and then finds its port taken.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
