import { and, asc, eq, sql } from 'drizzle-orm';
import { channelIdentities, people } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import type { Locale } from '../config.js';
import type { Channel } from '../dialog/events.js';
import type { Say } from '../dialog/flow.js';
import { messages, type Messages } from '../i18n/index.js';
import { queueMessages, type OutboxItem, type OutboxPriority, type QueuedMessage } from './outbox.js';

export interface NotifyOpts {
  channel?: Channel;
  /** Default `conversation`; `emergency` for 应急. */
  priority?: OutboxPriority;
}

/**
 * Queues a message to a person on every channel they use (or only `opts.channel`), in their own
 * language, inside the caller's transaction. Used by the dialog engine (`ctx.notify`) and by jobs
 * (routing, escalation, reminders) alike, so there is one way to reach a person.
 *
 * Choices sent this way become that chat's "last choices shown" once DELIVERED (src/outbox/
 * shown.ts): on WeChat, where choices are numbered lines, a bare "1" then answers this message. A blocked identity gets nothing; a person
 * with no reachable identity gets nothing and the caller learns it from the empty result.
 */
export async function notifyPerson(
  tx: Tx,
  personId: string,
  build: (t: Messages, locale: Locale) => Say,
  opts: NotifyOpts = {},
): Promise<QueuedMessage[]> {
  return notifyPeople(tx, [{ personId, build }], opts);
}

/**
 * notifyPerson for many messages at once (a routing batch): three statements whatever their
 * number. Messages keep their order in the outbox, so each chat gets them as listed, and a
 * chat's "last choices shown" are those of the last message with choices delivered to it.
 */
export async function notifyPeople(
  tx: Tx,
  items: readonly { personId: string; build: (t: Messages, locale: Locale) => Say }[],
  opts: NotifyOpts = {},
): Promise<QueuedMessage[]> {
  if (items.length === 0) return [];
  // The people and their reachable chats in one round trip.
  const rows = await tx
    .select({
      personId: people.id,
      locale: people.locale,
      id: channelIdentities.id,
      channel: channelIdentities.channel,
      chatRef: channelIdentities.chatRef,
    })
    .from(people)
    .innerJoin(channelIdentities, eq(channelIdentities.personId, people.id))
    .where(
      and(
        anyOf(people.id, [...new Set(items.map((i) => i.personId))]),
        reachableChat,
        opts.channel ? eq(channelIdentities.channel, opts.channel) : undefined,
      ),
    )
    .orderBy(asc(channelIdentities.id));
  return queueMessages(tx, messagesFor(rows, items, opts));
}

/**
 * Which of a person's chats a message reaches: the person not erased, the chat not blocked. Over
 * the tables `people` and `channel_identities` (unaliased); one rule for notifyPeople and the
 * statements that read a person's chats themselves (src/activities/signup-facts.ts).
 */
export const reachableChat = sql`${people.erasedAt} is null and ${channelIdentities.blockedAt} is null`;

/** A person's chat as notifyPeople reaches it (`reachableChat`). */
export interface Reach {
  personId: string;
  locale: Locale;
  id: string;
  channel: Channel;
  chatRef: string;
}

/**
 * The outbox items of `items` on the chats in `reach` (ordered by identity), each in its
 * person's language; a person with no chat there gets none. notifyPeople's rows, for a caller
 * that read the chats in a statement of its own (src/activities/signups.ts).
 */
export function messagesFor(
  reach: readonly Reach[],
  items: readonly { personId: string; build: (t: Messages, locale: Locale) => Say }[],
  opts: NotifyOpts = {},
): OutboxItem[] {
  const byPerson = new Map<string, Reach[]>();
  for (const r of reach) byPerson.set(r.personId, [...(byPerson.get(r.personId) ?? []), r]);
  const out: OutboxItem[] = [];
  for (const { personId, build } of items) {
    const identities = byPerson.get(personId);
    if (!identities) continue;
    const locale = identities[0]!.locale;
    const say = build(messages(locale), locale);
    for (const identity of identities) {
      out.push({ to: { identityId: identity.id, channel: identity.channel, chatRef: identity.chatRef }, reply: { ...say, locale }, priority: opts.priority });
    }
  }
  return out;
}
