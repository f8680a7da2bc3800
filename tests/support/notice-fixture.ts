import { eq } from 'drizzle-orm';
import { channelIdentities, consents, people } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { Channel } from '../../src/dialog/events.js';
import type { Locale } from '../../src/config.js';

let n = 0;

/**
 * A resident bound to a household with the chats given (none = reachable nowhere), with or
 * without a current consent; `blocked` marks every chat as having blocked the bot.
 */
export async function resident(
  database: Database,
  householdId: number,
  opts: { channels?: Channel[]; consent?: 'given' | 'withdrawn'; blocked?: boolean; locale?: Locale } = {},
): Promise<{ personId: string; refs: Partial<Record<Channel, string>> }> {
  const [p] = await database.db
    .insert(people)
    .values({ locale: opts.locale ?? 'zh-CN', householdId, householdStatus: 'bound' })
    .returning({ id: people.id });
  const refs: Partial<Record<Channel, string>> = {};
  for (const channel of opts.channels ?? ['web']) {
    const ref = `nf-${process.pid}-${++n}`;
    refs[channel] = ref;
    await database.db.insert(channelIdentities).values({ personId: p!.id, channel, userRef: ref, chatRef: ref, blockedAt: opts.blocked ? new Date() : null });
  }
  await database.db.insert(consents).values({ personId: p!.id, noticeVersion: 'test', channel: 'web', withdrawnAt: opts.consent === 'withdrawn' ? new Date() : null });
  return { personId: p!.id, refs };
}

/** The person's identity ids, for comparing against outbox rows. */
export async function identitiesOf(database: Database, personId: string): Promise<string[]> {
  const rows = await database.db.select({ id: channelIdentities.id }).from(channelIdentities).where(eq(channelIdentities.personId, personId));
  return rows.map((r) => r.id);
}
