import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import type { AfterCommitSink } from '../../src/work/unit.js';
import { createWork, type Work } from '../../src/work/unit.js';
import { createLogger } from '../../src/log.js';
import type { ActivityInput, ActivitySettings } from '../../src/activities/create.js';

/** China time, quiet hours 21:00–08:00 (activities announce through notices). */
export const ACTIVITY_SETTINGS: ActivitySettings = { timeZone: 'Asia/Shanghai', quiet: { hours: { startSec: 21 * 3600, endSec: 8 * 3600 }, timeZone: 'Asia/Shanghai' } };
export const TZ = { timeZone: 'Asia/Shanghai' };

/** A unit of work whose after-commit hand-off goes nowhere (the rows are what the tests read). */
export function quietWork(database: Database): Work {
  const sink: AfterCommitSink = { deliver: async () => {}, wake: async () => {}, enqueue: async () => {} };
  return createWork({ database, sink, logger: createLogger('silent') });
}

/** A one-off lecture `inMs` from now in `communityId`, `capacity` seats. */
export function lecture(communityId: number, capacity: number, startsAt: Date, over: Partial<ActivityInput> = {}): ActivityInput {
  return {
    kind: 'lecture',
    title: '法律常识讲座',
    topic: '法律常识',
    speaker: '王律师',
    venue: '社区活动室',
    communityId,
    capacity,
    schedule: { kind: 'once', startsAt, endsAt: new Date(startsAt.getTime() + 90 * 60_000) },
    ...over,
  };
}

/** Outbox texts queued for a person (all channels). */
export async function textsFor(database: Database, personId: string): Promise<string[]> {
  const rows = (await database.db.execute(sql`
    select o.payload->>'text' as text from outbox o join channel_identities i on i.id = o.identity_id
    where i.person_id = ${personId} order by o.id`)) as unknown as { text: string }[];
  return rows.map((r) => r.text);
}
