import { serve, type ServerType } from '@hono/node-server';
import { count, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { outbox } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { QueueBackend } from '../../jobs/backend.js';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';

export interface HttpDeps {
  database: Database;
  backend: QueueBackend;
  metrics: Metrics;
  logger: Logger;
  /** Required as a bearer token on /metrics when set. */
  metricsToken?: string;
}

/** The HTTP surface shared by every role: /healthz and /metrics. Channels add their routes. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.use(requestId());
  // The error boundary of every HTTP request: ids only in the log, an apology to the caller.
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    deps.logger.error({ requestId: c.get('requestId'), method: c.req.method, route: c.req.routePath, err }, 'request failed');
    return c.json({ error: 'internal error', requestId: c.get('requestId') }, 500);
  });
  app.get('/healthz', async (c) => {
    const check = async (f: () => Promise<unknown>) => {
      try {
        await withTimeout(f(), 3000);
        return 'ok';
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'health check failed');
        return 'unreachable';
      }
    };
    const [db, queue] = await Promise.all([check(() => deps.database.sql`select 1`), check(() => deps.backend.ping())]);
    const ok = db === 'ok' && queue === 'ok';
    return c.json({ status: ok ? 'ok' : 'degraded', db, queue }, ok ? 200 : 503);
  });
  if (deps.metricsToken) app.use('/metrics', bearerAuth({ token: deps.metricsToken }));
  app.get('/metrics', async (c) => {
    try {
      const [row] = await deps.database.db.select({ n: count() }).from(outbox).where(eq(outbox.status, 'pending'));
      deps.metrics.pendingOutbox.set(row?.n ?? 0);
    } catch {
      // The database being down is what /healthz reports; metrics still answer.
    }
    return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
  });
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** Listens; resolves with the bound port (port 0 picks a free one). */
export function listen(app: Hono, host: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}
