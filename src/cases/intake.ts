import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { caseFollowers, cases } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { getUnit, lineage } from '../org/tree.js';
import { gridSql } from '../routing/route.js';
import type { CasePhotoInput, Effects } from './effects.js';
import { event, lockCase, must } from './record.js';
import { chinaDay, type Priority } from './rules.js';

/** 受理: a report becomes a case (once per intake key); others join it as followers. */

export interface NewCase {
  /** `<channel>:<messageRef>` of the confirming message, or a desk key: makes intake idempotent. */
  intakeKey: string;
  reporterId: string | null;
  intakeStaffId?: string | null;
  communityId: number;
  placeId: number | null;
  categoryId: number;
  priority: Priority;
  description: string;
  point: { lat: number; lng: number } | null;
  locationLabel?: string | null;
  photos?: CasePhotoInput[];
  /** The reporter's household claim still awaits verification (they may report meanwhile). */
  unverified?: boolean;
  /** 一窗受理: hash of the code the desk hands the walk-in resident (see claimFollowCode). */
  followCodeHash?: string | null;
}

/** County code per community: the tree does not move under a running process, so it is cached. */
const countyPrefixCache = new Map<number, string>();

async function countyPrefix(db: Queryable, communityId: number): Promise<string> {
  const cached = countyPrefixCache.get(communityId);
  if (cached) return cached;
  const community = await getUnit(db, communityId);
  if (!community) throw new Error(`community ${communityId} not found`);
  const county = (await lineage(db, community)).find((u) => u.kind === 'county');
  const prefix = (county?.code ?? 'LL').toUpperCase().replace(/[^A-Z0-9]/g, '') || 'LL';
  if (countyPrefixCache.size > 10_000) countyPrefixCache.clear();
  countyPrefixCache.set(communityId, prefix);
  return prefix;
}


/**
 * 受理: stores the case (once per intake key), its photos and the first timeline row, and asks
 * for routing. Returns the existing case when the same intake arrives again.
 *
 * One statement, so it is atomic on its own: the dialog engine runs it inside the conversation's
 * transaction, `intakeCase` (run.ts) without BEGIN/COMMIT — on this kind of machine every round
 * trip costs as much as the insert itself (see bench/).
 */
export async function submitCase(
  db: Queryable,
  fx: Pick<Effects, 'schedule'>,
  input: NewCase,
  now: Date,
): Promise<{ caseId: string; number: string; created: boolean }> {
  const prefix = await countyPrefix(db, input.communityId);
  const day = chinaDay(now);
  const caseId = randomUUID();
  const at = now.toISOString();
  const actor = input.intakeStaffId ?? input.reporterId;
  const details = JSON.stringify({ photos: input.photos?.length ?? 0, desk: !!input.intakeStaffId });
  const photos = JSON.stringify(
    (input.photos ?? []).map((p) => ({ storage_key: p.storageKey, mime_type: p.mimeType, bytes: p.bytes, sha256: p.sha256, thumbnail_key: p.thumbnailKey ?? null })),
  );
  // The day's number is taken only when the intake key is new, and the counter row (which every
  // intake of the county that day waits on until commit) is locked as late as possible.
  const rows = (await db.execute(sql`
    with existing as (
      select id, number from cases where intake_key = ${input.intakeKey}
    ), n as (
      insert into case_number_counters (prefix, day, last)
      select ${prefix}, ${day}, 1 where not exists (select 1 from existing)
      on conflict (prefix, day) do update set last = case_number_counters.last + 1
      returning last
    ), c as (
      insert into cases (id, number, intake_key, community_id, grid_id, place_id, category_id, priority, description,
                         lat, lng, location_label, reporter_id, household_verified, intake_staff_id, follow_code_hash, first_unit_id, created_at, updated_at)
      -- the same format as formatCaseNumber (rules.ts): at least four digits
      select ${caseId}::uuid, ${`${prefix}-${day.replace(/-/g, '')}-`} || lpad(n.last::text, greatest(4, length(n.last::text)), '0'),
             ${input.intakeKey}, ${input.communityId}, ${gridSql(input)}, ${input.placeId}, ${input.categoryId}, ${input.priority}::case_priority,
             ${input.description}, ${input.point ? String(input.point.lat) : null}::numeric, ${input.point ? String(input.point.lng) : null}::numeric,
             ${input.locationLabel ?? null}, ${input.reporterId}::uuid, ${!input.unverified}::boolean, ${input.intakeStaffId ?? null}::uuid, ${input.followCodeHash ?? null},
             ${input.communityId}, ${at}::timestamptz, ${at}::timestamptz
      from n
      on conflict (intake_key) do nothing
      returning id, number
    ), f as (
      insert into case_followers (case_id, person_id, since)
      select c.id, ${input.reporterId}::uuid, ${at}::timestamptz from c where ${input.reporterId}::uuid is not null
      on conflict do nothing
    ), e as (
      insert into case_events (case_id, kind, actor_id, from_status, to_status, level, details, public, at)
      select c.id, 'submitted', ${actor}::uuid, 'submitted', 'submitted', 'grid', ${details}::jsonb, true, ${at}::timestamptz from c
    ), p as (
      insert into case_photos (case_id, storage_key, mime_type, bytes, sha256, thumbnail_key, purpose, added_by)
      select c.id, x.storage_key, x.mime_type, x.bytes, x.sha256, x.thumbnail_key, 'report', ${input.reporterId}::uuid
      from c, jsonb_to_recordset(${photos}::jsonb) as x(storage_key text, mime_type text, bytes int, sha256 text, thumbnail_key text)
    )
    select id, number, true as created from c
    union all
    select id, number, false as created from existing
  `)) as unknown as { id: string; number: string; created: boolean }[];
  let row = rows[0];
  if (!row) {
    // Another transaction stored the same intake while this statement ran (its number is spent).
    const [raced] = await db.select({ id: cases.id, number: cases.number }).from(cases).where(eq(cases.intakeKey, input.intakeKey));
    row = { ...raced!, created: false };
  }
  if (row.created) fx.schedule({ kind: 'route', caseId: row.id });
  return { caseId: row.id, number: row.number, created: row.created };
}

export class FollowCodeInvalid extends Error {}

/**
 * A walk-in resident (一窗受理) sends the desk's code in chat and from then on follows the case like
 * any reporter. The code works once; the first to use it becomes the reporter (who rates).
 */
export async function claimFollowCode(tx: Tx, personId: string, codeHash: string, now: Date): Promise<{ number: string; caseId: string }> {
  const [c] = await tx.select().from(cases).where(eq(cases.followCodeHash, codeHash)).for('update');
  if (!c || c.status === 'closed') throw new FollowCodeInvalid();
  await tx
    .update(cases)
    .set({ followCodeHash: null, reporterId: c.reporterId ?? personId, updatedAt: now })
    .where(eq(cases.id, c.id));
  await tx.insert(caseFollowers).values({ caseId: c.id, personId, since: now }).onConflictDoNothing();
  await event(tx, c, 'linked', { actorId: personId, public: false, details: { via: 'desk_code' }, at: now });
  return { number: c.number, caseId: c.id };
}

/** "Same problem": the person follows the open case and hears its outcome. */
export async function followCase(tx: Tx, caseId: string, personId: string, now: Date): Promise<void> {
  const c = await lockCase(tx, caseId);
  must('addInfo', c);
  const inserted = await tx.insert(caseFollowers).values({ caseId, personId, since: now }).onConflictDoNothing().returning();
  if (inserted.length) await event(tx, c, 'linked', { actorId: personId, public: false, details: { follower: personId }, at: now });
}
