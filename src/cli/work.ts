import type { Database } from '../../db/client.js';
import { createQueueBackend } from '../../jobs/backend.js';
import { createJobs } from '../../jobs/producer.js';
import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { createWork, type UnitOfWork } from '../work/unit.js';

/**
 * One unit of work for a CLI command, with the queues `npm start` uses, so what the command
 * asks for after commit (a fan-out job, a timer wake-up) is handed on like in the app.
 */
export async function runCliWork<T>(config: Config, database: Database, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const backend = createQueueBackend(config.queue.redisUrl ? { kind: 'redis', url: config.queue.redisUrl, prefix: config.queue.prefix } : { kind: 'postgres', url: database.url, schema: config.queue.prefix });
  const jobs = createJobs(backend);
  try {
    return await createWork({ database, sink: jobs.sink, logger: createLogger('warn') }).run(work);
  } finally {
    await jobs.close();
    await backend.close();
  }
}
