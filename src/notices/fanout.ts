import { and, eq, sql, type SQL } from 'drizzle-orm';
import { notices } from '../../db/schema/index.js';
import type { Database, Queryable } from '../../db/client.js';
import { audienceRanges, scopePaths, writeAudienceRange } from '../audience/audience.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import { LOCALES } from '../config.js';
import { messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { ON_DEDUPE_CONFLICT, OUTBOX_PRIORITY, toQueued, type DeliveryQueue } from '../outbox/outbox.js';
import { replySchema } from '../dialog/reply.js';
import type { Channel } from '../dialog/events.js';
import { audienceOf, noticeTextIn, scopesOf, WITHDRAWAL_WAVE, type NoticeRow } from './commands.js';
import { readButton } from './buttons.js';
import { deliverFrom, isUrgent, type QuietHours } from './rules.js';

/**
 * 群发 (fan-out): a notice is one row; this writes its messages a page at a time, each page in a
 * transaction of its own (never the sender's), with one dedupe key per (notice, wave, person,
 * channel): a page retried after a crash writes nothing twice. Memory holds one page at most.
 */

export interface FanOutDeps {
  database: Database;
  delivery: DeliveryQueue;
  logger: Logger;
  /** Households per page (wave 0) or chats per page (corrections and withdrawals). */
  pageSize: number;
  quiet: { hours: QuietHours; timeZone: string };
  now?: () => Date;
}

/** Fan-out pages written at once (each holds one pooled connection for one statement). */
const PAGES_IN_FLIGHT = 2;
/** Pages between the reads that stop a withdrawn notice's first wave (each page also checks it itself). */
const WITHDRAWN_CHECK_EVERY = 4;

export const dedupeKey = (noticeId: string, wave: number, personId: string, channel: string) => `n:${noticeId}:${wave}:${personId}:${channel}`;

/**
 * How a notice asks for 收到: a button (Telegram, web), or on WeChat a numbered line "9. 收到"
 * numbered on after whatever the chat is answering now (decided when it is delivered:
 * src/outbox/shown.ts), with a typed 收到 asked where there is no room for it.
 */
export type AckStyle = 'button' | 'numbered';

/** The message of a wave in one language: the notice (with 收到), its correction, or its withdrawal. */
export function noticeMessage(n: NoticeRow, wave: number, locale: Locale, ack: AckStyle = 'button'): Say {
  const t = messages(locale).notices;
  const { title, body } = noticeTextIn(n, locale);
  if (wave === WITHDRAWAL_WAVE) return { text: t.withdrawal({ title, reason: n.withdrawReason ?? '' }) };
  if (wave > 0) return { text: t.correction({ title, correction: n.correction ?? '' }) };
  const text = `${isUrgent(n.category) ? '⚠️ ' : ''}${t.message({ category: t[`category_${n.category}`], title, body })}`;
  return {
    text: ack === 'button' ? `${text}\n\n${t.ackHint}` : text,
    choices: [{ id: readButton(n.id), label: t.received }],
    ...(ack === 'numbered' && { appendChoices: { plainText: `${text}\n\n${t.ackReply}` } }),
    ...(n.photoKey && { media: [{ kind: 'photo' as const, fileRef: n.photoKey }] }),
  };
}

/**
 * Writes every page of one wave, then marks the notice sent. Idempotent end to end: run twice
 * (a retried job, a sweep), it sends each chat one message. A notice withdrawn while its first
 * wave is still going out stops between pages.
 */
export async function fanOutNotice(deps: FanOutDeps, noticeId: string, wave: number): Promise<{ written: number; pages: number }> {
  const now = deps.now ?? (() => new Date());
  const notice = (await deps.database.db.select().from(notices).where(eq(notices.id, noticeId)))[0];
  if (!notice) return { written: 0, pages: 0 };
  const priority = isUrgent(notice.category) ? ('emergency' as const) : ('broadcast' as const);
  const hold = wave === 0 ? notice.deliverFrom : deliverFrom(now(), notice.category, deps.quiet.hours, deps.quiet.timeZone);
  const notBefore = hold && hold.getTime() > now().getTime() ? hold : null;
  const says = Object.fromEntries(LOCALES.map((l) => [l, noticeMessage(notice, wave, l)])) as Record<Locale, Say>;
  const numbered = Object.fromEntries(LOCALES.map((l) => [l, noticeMessage(notice, wave, l, 'numbered')])) as Record<Locale, Say>;
  const payloads = {
    rich: Object.fromEntries(LOCALES.map((l) => [l, replySchema.parse({ ...says[l], locale: l })])),
    numbered: Object.fromEntries(LOCALES.map((l) => [l, replySchema.parse({ ...numbered[l], locale: l })])),
  };
  const write = noticeRows(noticeId, wave, payloads, OUTBOX_PRIORITY[priority], notBefore);
  let written = 0;
  let pages = 0;
  const handOver = async (rows: StoredRow[]) => {
    pages++;
    written += rows.length;
    if (rows.length === 0) return;
    await deps.delivery.enqueue(rows.map(toQueued)).catch((err) => deps.logger.warn({ err: (err as Error).message, noticeId }, 'enqueue failed; the outbox sweep will retry'));
  };

  if (wave === 0) {
    // Each page is one statement: the households, their reachable chats, the outbox rows and the
    // delivery records, set-based in the database (nothing of the page is built in Node). Page
    // bounds are found ahead (a cheap index read each), so two pages are written at once: one
    // PostgreSQL backend per core instead of one waiting on the other's round trips.
    const spec = audienceOf(notice, await scopesOf(deps.database.db, noticeId));
    const paths = await scopePaths(deps.database.db, spec);
    const inFlight: Promise<void>[] = [];
    let started = 0;
    for await (const range of audienceRanges(deps.database.db, paths, deps.pageSize)) {
      // A page written after a withdrawal writes nothing (noticeRows checks in the statement);
      // this read, every few pages, is only what stops the loop.
      if (started > 0 && started % WITHDRAWN_CHECK_EVERY === 0 && (await statusOf(deps.database.db, noticeId)) === 'withdrawn') break;
      started++;
      const page = writeAudienceRange<StoredRow>(deps.database.db, spec, paths, range, deps.pageSize, write).then(handOver);
      // Awaited below in order; until then a failure must not become an unhandled rejection.
      page.catch(() => undefined);
      inFlight.push(page);
      if (inFlight.length >= PAGES_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } else {
    let after: string | null = '00000000-0000-0000-0000-000000000000';
    while (after) {
      const page = await earlierRecipientsPage(deps.database.db, noticeId, after, deps.pageSize, write);
      await handOver(page.rows);
      after = page.next;
    }
  }
  await deps.database.db
    .update(notices)
    .set({ fanoutDoneAt: now(), status: sql`case when ${notices.status} = 'sending' then 'sent'::notice_status else ${notices.status} end` })
    // Only when this wave is still the latest: a withdrawal that came meanwhile has its own to finish.
    .where(and(eq(notices.id, noticeId), sql`(case when ${notices.status} = 'withdrawn' then ${WITHDRAWAL_WAVE} else ${notices.revision} end) = ${wave}`));
  deps.logger.info({ noticeId, wave, written, pages }, 'notice fan-out done');
  return { written, pages };
}

async function statusOf(db: Queryable, noticeId: string) {
  return (await db.select({ status: notices.status }).from(notices).where(eq(notices.id, noticeId)))[0]?.status;
}

type StoredRow = { id: string | number; channel: Channel; priority: number; not_before: string | null };

/**
 * The writing half of a fan-out page, as CTEs over the page's members `m` (src/audience's
 * membersCte): the outbox rows (one per chat, `ON CONFLICT (dedupe_key) DO NOTHING`, so a retried
 * page writes nothing twice) and one `notice_deliveries` row per chat (rows already there stay as
 * they are), pointing at the outbox row written now or by an earlier try. `written` is what was
 * really inserted, to hand to delivery.
 */
function noticeRows(noticeId: string, wave: number, payloads: { rich: Record<string, unknown>; numbered: Record<string, unknown> }, priority: number, notBefore: Date | null): SQL {
  // The same key as dedupeKey() above.
  const key = sql`${`n:${noticeId}:${wave}:`} || m.person_id::text || ':' || m.channel::text`;
  // The first wave stops at a withdrawal: a page that starts after it commits writes nothing.
  const live = wave === 0 ? sql`not exists (select 1 from notices x where x.id = ${noticeId}::uuid and x.status = 'withdrawn')` : sql`true`;
  return sql`o as (
      insert into outbox (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key)
      select m.identity_id, m.channel, m.chat_ref,
             ${JSON.stringify(payloads)}::jsonb -> (case when m.channel = 'wechat' then 'numbered' else 'rich' end) -> m.locale::text,
             ${priority}::smallint, ${notBefore ? notBefore.toISOString() : null}::timestamptz, ${key}
      from m where ${live} order by m.n
      ${ON_DEDUPE_CONFLICT}
      returning id, identity_id, channel, priority, not_before
    ), d as (
      insert into notice_deliveries (notice_id, wave, identity_id, person_id, household_id, channel, outbox_id)
      select ${noticeId}::uuid, ${wave}::smallint, m.identity_id, m.person_id, m.household_id, m.channel,
             coalesce(o.id, (select x.id from outbox x where x.dedupe_key = ${key}))
      from m left join o on o.identity_id = m.identity_id
      where ${live}
      on conflict do nothing
    ), written as (select id, channel, priority, not_before from o)`;
}

/** A page of the chats that got wave 0 and can still be reached (keyset by identity), written by `write` in the same statement. */
async function earlierRecipientsPage(db: Queryable, noticeId: string, after: string, pageSize: number, write: SQL): Promise<{ rows: StoredRow[]; next: string | null }> {
  const [page] = (await db.execute(sql`
    with m as (
      select d.identity_id, d.person_id, d.household_id, ci.channel, ci.chat_ref, p.locale, row_number() over (order by d.identity_id) as n
      from notice_deliveries d
      join channel_identities ci on ci.id = d.identity_id and ci.blocked_at is null
      join people p on p.id = d.person_id and p.erased_at is null
      where d.notice_id = ${noticeId} and d.wave = 0 and d.identity_id > ${after}::uuid
      order by d.identity_id limit ${pageSize}
    ), ${write}
    select (select count(*)::int from m) as chats,
           (select m.identity_id from m order by m.identity_id desc limit 1) as last,
           coalesce((select json_agg(written) from written), '[]'::json) as rows`)) as unknown as { chats: number; last: string | null; rows: StoredRow[] }[];
  return { rows: page!.rows, next: page!.chats >= pageSize ? page!.last : null };
}
