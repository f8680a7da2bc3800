import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';
import { replySchema, type Reply } from '../dialog/reply.js';

/**
 * 发件箱 (the outbox): every message to a person is a row here, delivered by a deliver job whose
 * id is the row id.
 *
 * API (what modules use):
 * - `queueMessages(tx, items)` inside the transaction that causes the messages: they exist if and
 *   only if that change committed. Returns the rows to hand to `DeliveryQueue.enqueue` after the
 *   commit (the unit of work does that; a lost enqueue is caught by the outbox sweep).
 * - `writeOutbox(db, items)`: the same statement outside any caller's transaction, for fan-out
 *   pages (a notice to 10,000 people written a page at a time). One statement for the whole page,
 *   `ON CONFLICT (dedupe_key) DO NOTHING`: a retried page writes nothing twice and returns only
 *   the rows it really inserted.
 * - Per row: `priority` (OUTBOX_PRIORITY: 应急 emergency > conversation replies and case cards >
 *   broadcasts; a reply never waits behind a broadcast), `notBefore` (quiet hours, scheduled:
 *   delivery and the sweep leave the row alone until then) and `dedupeKey` (unique, optional).
 */
/**
 * A row whose dedupe key is written already is skipped. The unique index holds only rows with a
 * key (migration 0033), so the clause names its predicate: that is how PostgreSQL infers a partial
 * index as the arbiter.
 */
export const ON_DEDUPE_CONFLICT = sql`on conflict (dedupe_key) where dedupe_key is not null do nothing`;

export const OUTBOX_PRIORITY = { emergency: 0, conversation: 1, broadcast: 2 } as const;
export type OutboxPriority = keyof typeof OUTBOX_PRIORITY;

export function priorityName(n: number): OutboxPriority {
  return n <= 0 ? 'emergency' : n === 1 ? 'conversation' : 'broadcast';
}

/** Where a message goes: one channel identity of a person. */
export interface Recipient {
  identityId: string;
  channel: Channel;
  chatRef: string;
}

/** One message to write; only `to` and `reply` are required. */
export interface OutboxItem {
  to: Recipient;
  reply: Reply;
  /** Default `conversation`. */
  priority?: OutboxPriority;
  /** Not before this time (null/undefined = at once). */
  notBefore?: Date | null;
  /** Unique across the outbox; a second row with the same key is not written. */
  dedupeKey?: string | null;
}

/** A row written to the outbox that must be handed to the delivery queue after commit. */
export interface QueuedMessage {
  outboxId: number;
  channel: Channel;
  /** Absent = `conversation`. */
  priority?: OutboxPriority;
  /** Absent/null = deliver at once. */
  notBefore?: Date | null;
  /** Written already sent (`outboxInsertSent`): nothing to deliver, only the chat's poll to wake. */
  sent?: { chatRef: string };
}

/** Writes messages to the outbox inside the caller's transaction (see the module comment). */
export async function queueMessages(tx: Queryable, items: readonly OutboxItem[]): Promise<QueuedMessage[]> {
  return writeOutbox(tx, items);
}

/**
 * Many outbox rows in one statement: one JSON parameter, so one prepared statement whatever
 * their number and nothing to build per row; `ordinality` keeps their order in the ids. Rows
 * whose dedupe key exists already are skipped (and not returned).
 */
export async function writeOutbox(q: Queryable, items: readonly OutboxItem[]): Promise<QueuedMessage[]> {
  if (items.length === 0) return [];
  return queuedFrom(await q.execute(outboxInsert(items)));
}

/**
 * The INSERT behind writeOutbox, for a caller that runs it as the last part of a statement of its
 * own (the dialog engine saves the chat's state in the same round trip); read its result with
 * `queuedFrom`.
 */
export function outboxInsert(items: readonly OutboxItem[]): SQL {
  return sql`
    insert into outbox (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key)
    select x.identity_id, x.channel, x.chat_ref, x.payload, x.priority, x.not_before, x.dedupe_key
    from ${outboxRows(items)}
    order by x.n
    ${ON_DEDUPE_CONFLICT}
    returning id, channel, priority, not_before`;
}

/**
 * The outbox INSERT of rows a caller's statement finds and fills in itself (a sign-up's chats and
 * the text of its outcome, known only once its session is locked, src/activities/seat-claim.ts):
 * `rows` selects identity_id, channel, chat_ref, payload, priority and n (their order). The tail
 * of the caller's statement; read its result with `queuedFrom`.
 *
 * Rows on a channel in `sentOnCommit` (the web chat, whose delivery is the committed row) are
 * written already sent, as `outboxInsertSent` writes a turn's replies: no deliver job, only the
 * chat's poll to wake. Each such chat's deliver lock is taken first, all of them in key order so
 * that two statements locking several chats wait for each other instead of deadlocking; a chat
 * with a row still waiting for its delivery gets its rows pending, sent after that row in order.
 */
export function outboxInsertSelected(rows: SQL, sentOnCommit: readonly Channel[] = []): SQL {
  const sentChannels = sql`${`{${sentOnCommit.join(',')}}`}::channel_kind[]`;
  return sql`
    with chosen as (${rows}),
    chat_locks as (
      -- OFFSET 0 keeps the sort below the lock calls: they run in key order.
      select count(pg_advisory_xact_lock(k.key)) as locked
      from (select distinct ${deliverLockKeySql(sql`c.identity_id`)} as key from chosen c
            where c.channel = any(${sentChannels}) order by 1 offset 0) k
    ),
    sends as (
      -- chat_locks joined: no row is judged (nor given a sent_seq) before every lock is held.
      -- OFFSET 0: now_sent is computed once per row, not once per use below.
      select c.*, c.channel = any(${sentChannels}) and not ${chatWaiting(sql`c.identity_id`)} as now_sent
      from chosen c, chat_locks offset 0
    )
    insert into outbox (identity_id, channel, chat_ref, payload, priority, status, sent_at, sent_seq)
    select identity_id, channel, chat_ref, payload, priority,
           case when now_sent then 'sent' else 'pending' end,
           case when now_sent then now() end,
           case when now_sent then nextval('outbox_sent_seq') end
    from sends order by n
    returning id, channel, priority, not_before, status, chat_ref`;
}

/** The items as a relation `x` (one JSON parameter, `n` their order). */
function outboxRows(items: readonly OutboxItem[]): SQL {
  const rows = items.map(({ to, reply, priority, notBefore, dedupeKey }) => ({
    identity_id: to.identityId,
    channel: to.channel,
    chat_ref: to.chatRef,
    payload: replySchema.parse(reply),
    priority: OUTBOX_PRIORITY[priority ?? 'conversation'],
    not_before: notBefore ? notBefore.toISOString() : null,
    dedupe_key: dedupeKey ?? null,
  }));
  return sql`rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                    as (identity_id uuid, channel channel_kind, chat_ref text, payload jsonb, priority smallint,
                        not_before timestamptz, dedupe_key text)) with ordinality
         as x (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key, n)`;
}

/** One prefix for the lock key, as JS builds it and as SQL does (deliverLockKeySql). */
const DELIVER_LOCK_PREFIX = 'deliver:';

/**
 * The advisory lock one chat's deliveries take (jobs/deliver.ts), held until their transaction
 * ends: within a chat, rows become sent one holder at a time, so `sent_seq` (the web poll's
 * cursor) follows the commit order.
 */
export const deliverLockKey = (identityId: string) => `${DELIVER_LOCK_PREFIX}${identityId}`;

/** The chat's deliver lock as a CTE `chat_lock`, for `outboxInsertSent`. */
export function chatLockCte(identityId: string): SQL {
  return sql`chat_lock as (select pg_advisory_xact_lock(hashtext(${deliverLockKey(identityId)})) as locked)`;
}

/** `deliverLockKey` as the lock's key in SQL, for an identity id computed in a statement. */
function deliverLockKeySql(identityId: SQL): SQL {
  return sql`hashtext(${DELIVER_LOCK_PREFIX} || ${identityId}::text)`;
}

/**
 * The chat has a row still waiting for its delivery (pending, as urgent as a reply or more, due):
 * a row written now goes pending behind it, so the chat's rows keep their order.
 */
function chatWaiting(identityId: SQL): SQL {
  return sql`exists (
        select 1 from outbox w
        where w.identity_id = ${identityId} and w.status = 'pending' and w.priority <= ${OUTBOX_PRIORITY.conversation}
          and (w.not_before is null or w.not_before <= now()))`;
}

/**
 * 提交即送达: replies to one chat of a channel whose delivery is the committed row itself (the web
 * chat, whose browser reads the chat's sent rows), written already sent, so no deliver job or
 * second transaction is needed. The tail of the caller's statement, which must define
 * `chatLockCte(identityId)` first and read from it before writing anything else (the lock comes
 * before any row the deliver processor may also touch, e.g. the chat's dialog state). When a row
 * of this chat is still waiting for its delivery (pending, as urgent, due), the rows are written
 * pending instead and the deliver processor sends them after it, in order. Every item must go to
 * `identityId`, at conversation priority or above, without `notBefore`. Read the result with
 * `queuedFrom`: rows written sent come back with `sent` (only the chat's poll is to be woken).
 */
export function outboxInsertSent(identityId: string, items: readonly OutboxItem[]): SQL {
  return sql`waiting as (select ${chatWaiting(sql`${identityId}`)} as yes)
    insert into outbox (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key, status, sent_at, sent_seq)
    select x.identity_id, x.channel, x.chat_ref, x.payload, x.priority, x.not_before, x.dedupe_key,
           case when waiting.yes then 'pending' else 'sent' end,
           case when waiting.yes then null else now() end,
           case when waiting.yes then null else nextval('outbox_sent_seq') end
    -- chat_lock joined: no row (and no sent_seq) is produced before the lock is held.
    from ${outboxRows(items)}, waiting, chat_lock
    order by x.n
    ${ON_DEDUPE_CONFLICT}
    returning id, channel, priority, not_before, status, chat_ref`;
}

type StoredRow = { id: string | number; channel: Channel; priority: number; not_before: string | Date | null; status?: string; chat_ref?: string };

/** The rows an `outboxInsert` returned, as messages to enqueue (raw statements return bigint as text). */
export function queuedFrom(stored: unknown): QueuedMessage[] {
  return (stored as StoredRow[]).map((r) => toQueued(r));
}

export function toQueued(r: StoredRow): QueuedMessage {
  const m: QueuedMessage = { outboxId: Number(r.id), channel: r.channel };
  if (r.priority !== OUTBOX_PRIORITY.conversation) m.priority = priorityName(r.priority);
  if (r.not_before) m.notBefore = new Date(r.not_before);
  if (r.status === 'sent' && r.chat_ref !== undefined) m.sent = { chatRef: r.chat_ref };
  return m;
}

/**
 * Hands committed outbox rows to the delivery jobs. Implemented in jobs/ (the core never imports
 * BullMQ); a failure here loses nothing, because the outbox sweep re-enqueues pending rows.
 */
export interface DeliveryQueue {
  enqueue(messages: QueuedMessage[]): Promise<void>;
  /**
   * For the sweep: like enqueue, but a job that already ended (failed for a reason other than the
   * send, or completed without marking the row) is started again instead of being a no-op.
   */
  revive?(messages: QueuedMessage[]): Promise<void>;
}
