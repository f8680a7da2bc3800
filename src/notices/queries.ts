import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { NoticeTexts } from '../../db/schema/index.js';
import { PUBLIC_CATEGORIES, type NoticeCategory, type NoticeStatus } from './rules.js';
import { underScopes } from '../audience/scopes.js';

/** Read side of 通知公告: counts for staff, the resident's list, the public 居务公开 page. */

export interface NoticeCounts {
  /** Chats the notice was written for (wave 0). */
  recipients: number;
  delivered: number;
  pending: number;
  /** Failed or blocked on the platform. */
  failed: number;
  /** People who confirmed it (收到, a numbered reply, or opening it on the web). */
  read: number;
}

/** 送达 / 已读 / 失败 per notice, from the outbox rows its fan-out wrote and the read receipts. */
export async function noticeCounts(db: Queryable, noticeId: string): Promise<NoticeCounts> {
  const [row] = (await db.execute(sql`
    select count(*)::int as recipients,
           count(*) filter (where o.status = 'sent')::int as delivered,
           count(*) filter (where o.status = 'pending')::int as pending,
           count(*) filter (where o.status in ('failed', 'blocked'))::int as failed,
           (select count(*)::int from notice_reads r where r.notice_id = ${noticeId}) as read
    from notice_deliveries d left join outbox o on o.id = d.outbox_id
    where d.notice_id = ${noticeId} and d.wave = 0`)) as unknown as NoticeCounts[];
  return row!;
}

/**
 * 应急未读户: households in the notice's scopes with at least one resident bound, none of whom
 * has confirmed it — where a building head goes and knocks (独居老人). Ordered by place code;
 * ids and place names only, no people.
 */
export async function unreadHouseholds(db: Queryable, noticeId: string, limit = 50): Promise<{ total: number; households: { id: number; code: string; label: string }[] }> {
  const rows = (await db.execute(sql`
    with hh as (
      select h.id, h.code, h.path from org_units h
      where h.kind = 'household'
        and ${underScopes('notice', noticeId, sql`h.path`)}
        and exists (select 1 from people p where p.household_id = h.id and p.household_status = 'bound' and p.erased_at is null)
        and not exists (select 1 from notice_reads r join people p on p.id = r.person_id where r.notice_id = ${noticeId} and p.household_id = h.id)
    )
    select hh.id, hh.code, count(*) over ()::int as total,
           (select string_agg(u.name, ' · ' order by length(u.path)) from org_units u
             where hh.path like u.path || '%' and u.kind in ('building', 'unit', 'household')) as label
    from hh order by hh.code limit ${limit}`)) as unknown as { id: number; code: string; total: number; label: string }[];
  return { total: rows[0]?.total ?? 0, households: rows.map((r) => ({ id: r.id, code: r.code, label: r.label })) };
}

export interface NoticeListItem {
  id: string;
  title: string;
  body: string;
  texts: NoticeTexts | null;
  category: NoticeCategory;
  status: NoticeStatus;
  correction: string | null;
  releasedAt: Date;
  read: boolean;
}

/** The notices a resident got, newest first (withdrawn ones say so instead of their text). */
export async function recentNoticesFor(db: Queryable, personId: string, limit = 5): Promise<NoticeListItem[]> {
  const rows = (await db.execute(sql`
    select n.id, n.title, n.body, n.texts, n.category, n.status, n.correction, n.released_at as "releasedAt",
           exists (select 1 from notice_reads r where r.notice_id = n.id and r.person_id = ${personId}) as read
    from notices n
    where n.id in (select d.notice_id from notice_deliveries d where d.person_id = ${personId} and d.wave = 0)
    order by n.released_at desc nulls last limit ${limit}`)) as unknown as (NoticeListItem & { releasedAt: string | Date })[];
  return rows.map((r) => ({ ...r, releasedAt: new Date(r.releasedAt) }));
}

export interface PublicNotice {
  id: string;
  title: string;
  body: string;
  category: NoticeCategory;
  correction: string | null;
  releasedAt: Date;
}

/**
 * 居务公开: a community's published notices of the public catalogue (党务/居务/财务/服务), those
 * addressed to it, to a place inside it or to the street or county above it. Only notices to
 * everyone there (no group), released and not withdrawn. No author, no audience, no counts.
 */
export async function publicNotices(db: Queryable, communityCode: string, limit = 50): Promise<{ community: { id: number; name: string }; notices: PublicNotice[] } | undefined> {
  const [community] = (await db.execute(
    sql`select id, name, path from org_units where code = ${communityCode} and kind = 'community'`,
  )) as unknown as { id: number; name: string; path: string }[];
  if (!community) return undefined;
  const rows = (await db.execute(sql`
    select n.id, n.title, n.body, n.category, n.correction, n.released_at as "releasedAt"
    from notices n
    where n.category::text = any(${sql.param([...PUBLIC_CATEGORIES])}::text[])
      and n.status in ('sending', 'sent', 'corrected') and n.released_at is not null and cardinality(n.groups) = 0
      and exists (select 1 from notice_scopes s join org_units u on u.id = s.org_unit_id
                  where s.notice_id = n.id and (u.path like ${community.path} || '%' or ${community.path} like u.path || '%'))
    order by n.released_at desc limit ${limit}`)) as unknown as (PublicNotice & { releasedAt: string | Date })[];
  return { community: { id: community.id, name: community.name }, notices: rows.map((r) => ({ ...r, releasedAt: new Date(r.releasedAt) })) };
}

/** The notices a staff member wrote, newest first, for their 我发的通知 list. */
export async function noticesBy(db: Queryable, authorId: string, limit = 8): Promise<{ id: string; title: string; category: NoticeCategory; status: NoticeStatus }[]> {
  return (await db.execute(sql`
    select id, title, category, status from notices where author_id = ${authorId}
    order by created_at desc limit ${limit}`)) as unknown as { id: string; title: string; category: NoticeCategory; status: NoticeStatus }[];
}
