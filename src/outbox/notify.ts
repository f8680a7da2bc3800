import { and, eq, isNull } from 'drizzle-orm';
import { channelIdentities, dialogStates, people } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Channel } from '../dialog/events.js';
import type { Say } from '../dialog/flow.js';
import { messages, type Messages } from '../i18n/index.js';
import { queueMessages, type QueuedMessage } from './outbox.js';

/**
 * Queues a message to a person on every channel they use (or only `opts.channel`), in their own
 * language, inside the caller's transaction. Used by the dialog engine (`ctx.notify`) and by jobs
 * (routing, escalation, reminders) alike, so there is one way to reach a person.
 *
 * Choices sent this way become that chat's "last choices shown": on WeChat, where choices are
 * numbered lines, a bare "1" then answers this message. A blocked identity gets nothing; a person
 * with no reachable identity gets nothing and the caller learns it from the empty result.
 */
export async function notifyPerson(
  tx: Tx,
  personId: string,
  build: (t: Messages, locale: Locale) => Say,
  opts: { channel?: Channel } = {},
): Promise<QueuedMessage[]> {
  // The person and their reachable chats in one round trip (this runs for every message we send).
  const rows = await tx
    .select({ locale: people.locale, id: channelIdentities.id, channel: channelIdentities.channel, chatRef: channelIdentities.chatRef })
    .from(people)
    .innerJoin(channelIdentities, eq(channelIdentities.personId, people.id))
    .where(
      and(
        eq(people.id, personId),
        isNull(people.erasedAt),
        isNull(channelIdentities.blockedAt),
        opts.channel ? eq(channelIdentities.channel, opts.channel) : undefined,
      ),
    );
  if (rows.length === 0) return [];
  const person = { locale: rows[0]!.locale };
  const identities = rows.map(({ id, channel, chatRef }) => ({ id, channel, chatRef }));
  const say = build(messages(person.locale), person.locale);
  if (say.choices?.length) {
    for (const identity of identities) {
      await tx
        .insert(dialogStates)
        .values({ identityId: identity.id, flow: 'menu', step: 'idle', choices: say.choices })
        .onConflictDoUpdate({ target: dialogStates.identityId, set: { choices: say.choices, updatedAt: new Date() } });
    }
  }
  return queueMessages(
    tx,
    identities.map((identity) => ({
      to: { identityId: identity.id, channel: identity.channel, chatRef: identity.chatRef },
      reply: { ...say, locale: person.locale },
    })),
  );
}
