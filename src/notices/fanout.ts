import { and, eq, sql } from 'drizzle-orm';
import { notices } from '../../db/schema/index.js';
import type { Database, Queryable } from '../../db/client.js';
import { audiencePages, type AudienceMember } from '../audience/audience.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import { LOCALES } from '../config.js';
import { messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { writeOutbox, type DeliveryQueue, type OutboxItem } from '../outbox/outbox.js';
import { audienceOf, scopesOf, WITHDRAWAL_WAVE, type NoticeRow } from './commands.js';
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

export const dedupeKey = (noticeId: string, wave: number, personId: string, channel: string) => `n:${noticeId}:${wave}:${personId}:${channel}`;

/**
 * How a notice asks for 收到: a button (Telegram, web), or on WeChat a numbered line "1. 收到"
 * that only an idle chat is offered, with a typed 收到 asked of a chat in the middle of a flow
 * (`busyText`, decided when it is delivered: src/outbox/shown.ts).
 */
export type AckStyle = 'button' | 'numbered';

/** The message of a wave in one language: the notice (with 收到), its correction, or its withdrawal. */
export function noticeMessage(n: NoticeRow, wave: number, locale: Locale, ack: AckStyle = 'button'): Say {
  const t = messages(locale).notices;
  if (wave === WITHDRAWAL_WAVE) return { text: t.withdrawal({ title: n.title, reason: n.withdrawReason ?? '' }) };
  if (wave > 0) return { text: t.correction({ title: n.title, correction: n.correction ?? '' }) };
  const text = `${isUrgent(n.category) ? '⚠️ ' : ''}${t.message({ category: t[`category_${n.category}`], title: n.title, body: n.body })}`;
  return {
    text: ack === 'button' ? `${text}\n\n${t.ackHint}` : text,
    choices: [{ id: readButton(n.id), label: t.received }],
    ...(ack === 'numbered' && { busyText: `${text}\n\n${t.ackReply}` }),
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
  let written = 0;
  let pages = 0;

  const writePage = async (members: AudienceMember[]) => {
    pages++;
    if (members.length === 0) return;
    const items: OutboxItem[] = members.map((m) => ({
      to: { identityId: m.identityId, channel: m.channel, chatRef: m.chatRef },
      reply: { ...(m.channel === 'wechat' ? numbered : says)[m.locale], locale: m.locale },
      priority,
      notBefore,
      dedupeKey: dedupeKey(noticeId, wave, m.personId, m.channel),
    }));
    const queued = await deps.database.db.transaction(async (tx) => {
      const fresh = await writeOutbox(tx, items);
      await recordDeliveries(tx, noticeId, wave, members);
      return fresh;
    });
    written += queued.length;
    if (queued.length) {
      await deps.delivery.enqueue(queued).catch((err) => deps.logger.warn({ err: (err as Error).message, noticeId }, 'enqueue failed; the outbox sweep will retry'));
    }
  };

  const source =
    wave === 0
      ? (async function* () {
          const spec = audienceOf(notice, await scopesOf(deps.database.db, noticeId));
          for await (const page of audiencePages(deps.database.db, spec, deps.pageSize)) yield page.members;
        })()
      : earlierRecipients(deps.database.db, noticeId, deps.pageSize);
  // The next page is read while this one is written (two pooled connections), so reading and
  // writing overlap instead of taking turns.
  let next = source.next();
  for (;;) {
    const page = await next;
    if (page.done) break;
    next = source.next();
    // If this page's write fails, the read already under way must not become an unhandled rejection.
    next.catch(() => undefined);
    if (wave === 0 && pages > 0 && (await statusOf(deps.database.db, noticeId)) === 'withdrawn') {
      break;
    }
    await writePage(page.value);
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

/** One delivery row per chat written for; rows already there (a retried page) stay as they are. */
async function recordDeliveries(tx: Queryable, noticeId: string, wave: number, members: AudienceMember[]) {
  const rows = members.map((m) => ({ i: m.identityId, p: m.personId, h: m.householdId, c: m.channel, k: dedupeKey(noticeId, wave, m.personId, m.channel) }));
  await tx.execute(sql`
    insert into notice_deliveries (notice_id, wave, identity_id, person_id, household_id, channel, outbox_id)
    select ${noticeId}, ${wave}, m.i, m.p, m.h, m.c, o.id
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as m(i uuid, p uuid, h int, c channel_kind, k text)
    left join outbox o on o.dedupe_key = m.k
    on conflict do nothing`);
}

/** Chats that got wave 0 and can still be reached, in keyset pages by identity. */
async function* earlierRecipients(db: Queryable, noticeId: string, pageSize: number): AsyncGenerator<AudienceMember[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = (await db.execute(sql`
      select d.identity_id as "identityId", d.person_id as "personId", d.household_id as "householdId", ci.channel, ci.chat_ref as "chatRef", p.locale
      from notice_deliveries d
      join channel_identities ci on ci.id = d.identity_id and ci.blocked_at is null
      join people p on p.id = d.person_id and p.erased_at is null
      where d.notice_id = ${noticeId} and d.wave = 0 and d.identity_id > ${after}::uuid
      order by d.identity_id limit ${pageSize}`)) as unknown as AudienceMember[];
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageSize) return;
    after = rows.at(-1)!.identityId;
  }
}
