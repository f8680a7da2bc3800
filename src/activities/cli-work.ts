import type { Database } from '../../db/client.js';
import { createQueueBackend } from '../../jobs/backend.js';
import { createJobs } from '../../jobs/producer.js';
import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { findUnitByCode } from '../org/tree.js';
import { createWork, type UnitOfWork } from '../work/unit.js';

/**
 * One unit of work for a CLI command: its messages, timers and jobs go to the configured queue
 * after commit, like a chat step's (the activity and volunteer CLIs share it).
 */
export async function cliWork<T>(config: Config, database: Database, run: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const backend = createQueueBackend(config.queue.redisUrl ? { kind: 'redis', url: config.queue.redisUrl, prefix: config.queue.prefix } : { kind: 'postgres', url: database.url, schema: config.queue.prefix });
  const jobs = createJobs(backend);
  try {
    return await createWork({ database, sink: jobs.sink, logger: createLogger('warn') }).run(run);
  } finally {
    await jobs.close();
    await backend.close();
  }
}

/** A unit by its code, or an error naming it. */
export async function unitId(database: Database, code: string | undefined, what: string): Promise<number> {
  if (!code) throw new Error(`${what} UNIT_CODE is required (see \`units\`)`);
  const unit = await findUnitByCode(database.db, code);
  if (!unit) throw new Error(`no unit ${code} (see \`units\`)`);
  return unit.id;
}
