import { and, eq, like } from 'drizzle-orm';
import { mutedTopics } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';

/** Topics nobody may switch off: 应急 reaches everyone in scope. */
export const UNMUTABLE_TOPICS: readonly string[] = ['notice.emergency'];

export const mayMute = (topic: string) => !UNMUTABLE_TOPICS.includes(topic);

/** Switches a topic off or back on for a person; refuses the ones nobody may switch off. */
export async function setMuted(tx: Tx, personId: string, topic: string, muted: boolean): Promise<void> {
  if (muted) {
    if (!mayMute(topic)) throw new Error(`topic ${topic} cannot be switched off`);
    await tx.insert(mutedTopics).values({ personId, topic }).onConflictDoNothing();
  } else {
    await tx.delete(mutedTopics).where(and(eq(mutedTopics.personId, personId), eq(mutedTopics.topic, topic)));
  }
}

/** The topics a person switched off, optionally only those starting with `prefix` (e.g. `notice.`). */
export async function mutedTopicsOf(db: Queryable, personId: string, prefix = ''): Promise<Set<string>> {
  const rows = await db
    .select({ topic: mutedTopics.topic })
    .from(mutedTopics)
    .where(and(eq(mutedTopics.personId, personId), prefix ? like(mutedTopics.topic, `${prefix}%`) : undefined));
  return new Set(rows.map((r) => r.topic));
}
