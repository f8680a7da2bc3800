import { forStaff } from '../dialog/staff-text.js';
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { caseCategories, caseEvents, caseFollowers, casePhotos, cases, slaPolicies } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { getUnit, lineage, type OrgUnit } from '../org/tree.js';
import { chooseRoute, gridSql, type RouteDecision, leadersAt, leadersIn, leadsAbove, lineageIn, loadRoutingRefs, staffAt } from '../routing/route.js';
import type { SubCommittee } from '../staff/codes.js';
import {
  allowed,
  chinaDay,
  deadline,
  nextLevel,
  ratingOutcome,
  reminderTimes,
  slaFor,
  type CaseAction,
  type CaseStatus,
  type Level,
  type Priority,
  type Rating,
  type Sla,
} from './rules.js';

/**
 * Case commands. Each takes the caller's transaction and an `Effects` sink: messages go to the
 * outbox in the same transaction (via `notify`), timers are handed over for after the commit.
 * Every command locks the case row first, re-reads it and refuses what its status no longer
 * allows, so a repeated job or a double button press changes nothing.
 */

export type CaseTimer =
  | { kind: 'route'; caseId: string }
  /**
   * One timer per deadline: it wakes at each reminder time (`remindAt`, reminding whoever holds
   * the case) and then at the deadline itself (escalation, or 默认满意 for a resolved case).
   */
  | { kind: 'escalate'; caseId: string; seq: number; at: Date; remindAt?: Date[] };

export type Notice = { personId: string; build: (t: Messages, locale: Locale) => Say };

/** A photo as the photo store returned it (src/photos/store.ts storePhoto), for case_photos. */
export type CasePhotoInput = { storageKey: string; mimeType: string; bytes: number; sha256: string; thumbnailKey?: string | null };

export interface Effects {
  notify(personId: string, build: (t: Messages, locale: Locale) => Say): Promise<void>;
  /** Many messages in one go (a routing batch), in order. */
  notifyAll(notices: readonly Notice[]): Promise<void>;
  schedule(timer: CaseTimer): void;
}

export interface CaseSettings {
  /** CASE_DEADLINE_SCALE: multiplies every deadline (drills, tests). */
  deadlineScale: number;
  /** CASE_AUTO_CLOSE_DAYS: unrated resolved cases close as 默认满意 after this many days. */
  autoCloseDays: number;
}

export class CaseError extends Error {
  constructor(
    readonly reason: 'not_found' | 'not_allowed' | 'not_yours',
    readonly status?: CaseStatus,
  ) {
    super(reason);
  }
}

export type CaseRow = typeof cases.$inferSelect;

async function lockCase(tx: Tx, caseId: string): Promise<CaseRow> {
  const [row] = await tx.select().from(cases).where(eq(cases.id, caseId)).for('update');
  if (!row) throw new CaseError('not_found');
  return row;
}

function must(action: CaseAction, c: CaseRow) {
  if (!allowed(action, c.status)) throw new CaseError('not_allowed', c.status);
}

type EventFields = { actorId?: string | null; toStatus?: CaseStatus; level?: Level; reason?: string; details?: Record<string, unknown>; public?: boolean; at: Date };
type EventKind = (typeof caseEvents.$inferInsert)['kind'];

async function event(tx: Tx, c: CaseRow, kind: EventKind, e: EventFields) {
  await insertEvents(tx, [eventRow(c, kind, e)]);
}

/** A timeline row: who, when, what, why; from and to which status and level. */
interface EventRow {
  case_id: string;
  kind: EventKind;
  actor_id: string | null;
  from_status: CaseStatus;
  to_status: CaseStatus;
  level: Level;
  reason: string | null;
  details: Record<string, unknown>;
  public: boolean;
  at: string;
}

function eventRow(c: Pick<CaseRow, 'id' | 'status' | 'level'>, kind: EventKind, e: EventFields): EventRow {
  return {
    case_id: c.id,
    kind,
    actor_id: e.actorId ?? null,
    from_status: c.status,
    to_status: e.toStatus ?? c.status,
    level: e.level ?? c.level,
    reason: e.reason ?? null,
    details: e.details ?? {},
    public: e.public ?? true,
    at: e.at.toISOString(),
  };
}

/** Timeline rows in one statement, passed as one JSON parameter (see routeCases). */
async function insertEvents(tx: Tx, rows: readonly EventRow[]) {
  if (rows.length === 0) return;
  await tx.execute(sql`
    insert into case_events (case_id, kind, actor_id, from_status, to_status, level, reason, details, public, at)
    select case_id, kind, actor_id, from_status, to_status, level, reason, coalesce(details, '{}'), public, at
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         as x (case_id uuid, kind case_event_kind, actor_id uuid, from_status case_status, to_status case_status, level escalation_level,
               reason text, details jsonb, public boolean, at timestamptz)`);
}

export async function slaOf(tx: Tx, c: Pick<CaseRow, 'categoryId' | 'priority'>): Promise<Sla> {
  const policies = await tx.select().from(slaPolicies).where(inArray(slaPolicies.priority, [c.priority]));
  return slaFor(policies, c.categoryId, c.priority);
}

/** Sets a new running deadline (next sequence number) and hands its timers over. */
function startDeadline(fx: Effects, c: Pick<CaseRow, 'id' | 'deadlineSeq'>, due: Date, now: Date, opts: { remind: boolean }) {
  const seq = c.deadlineSeq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq, at: due, remindAt: opts.remind ? reminderTimes(now, due, now) : [] });
  return { dueAt: due, deadlineSeq: seq };
}

/** Everyone who hears about a case: its reporter and those who said "same problem". */
async function followersOf(tx: Tx, caseId: string): Promise<string[]> {
  const rows = await tx.select({ personId: caseFollowers.personId }).from(caseFollowers).where(eq(caseFollowers.caseId, caseId)).orderBy(asc(caseFollowers.since));
  return rows.map((r) => r.personId);
}

async function tellFollowers(tx: Tx, fx: Effects, caseId: string, build: (t: Messages, locale: Locale) => Say) {
  for (const personId of await followersOf(tx, caseId)) await fx.notify(personId, build);
}

export interface CaseView {
  number: string;
  /** The category is an emergency one (重大紧急突发事件): community and street hear at once. */
  emergency: boolean;
  category: (locale: Locale) => string;
  place: string;
  description: string;
}

/** What staff cards show: number, category in the reader's language, place, description. */
export async function caseView(tx: Tx, c: CaseRow): Promise<CaseView> {
  const [cat] = await tx.select({ names: caseCategories.names, emergency: caseCategories.emergency }).from(caseCategories).where(eq(caseCategories.id, c.categoryId));
  const unit = c.placeId === null ? undefined : await getUnit(tx, c.placeId);
  return viewOf(c, cat, unit ? await lineage(tx, unit) : []);
}

type CategoryLabel = Pick<typeof caseCategories.$inferSelect, 'names' | 'emergency'>;

/** caseView from what the caller already read: the category and the place's lineage (top first). */
function viewOf(
  c: Pick<CaseRow, 'number' | 'description' | 'locationLabel' | 'lat' | 'lng'>,
  cat: CategoryLabel | undefined,
  placeChain: readonly OrgUnit[],
): CaseView {
  let place = c.locationLabel ?? '';
  // The household's address without the administrative levels staff already know.
  if (placeChain.length) place = placeChain.filter((u) => u.kind !== 'county' && u.kind !== 'street' && u.kind !== 'grid').map((u) => u.name).join(' · ');
  else if (!place && c.lat !== null) place = `${Number(c.lat).toFixed(5)}, ${Number(c.lng).toFixed(5)}`;
  return {
    number: c.number,
    emergency: cat?.emergency ?? false,
    category: (locale) => cat?.names[locale] ?? cat?.names['zh-CN'] ?? '',
    place: forStaff(place),
    description: forStaff(c.description),
  };
}

/** China-time "11-22 14:05" for deadlines in messages. */
export function formatDue(at: Date): string {
  const local = new Date(at.getTime() + 8 * 3_600_000).toISOString();
  return `${local.slice(5, 10)} ${local.slice(11, 16)}`;
}

/** The card a grid worker (or whoever holds the case) gets, with its buttons. */
function assigneeCard(view: CaseView, c: { id: string; priority: Priority }, due: Date) {
  return (t: Messages, locale: Locale): Say => ({
    text: t.cases.card({
      number: view.number,
      priority: t.cases[`priority_${c.priority}`],
      category: view.category(locale),
      place: view.place,
      description: view.description,
      due: formatDue(due),
    }),
    choices: [
      { id: `ck:${c.id}`, label: t.cases.accept },
      { id: `cv:${c.id}`, label: t.cases.resolve },
      { id: `ct:${c.id}`, label: t.cases.transfer },
      { id: `cb:${c.id}`, label: t.cases.giveBack },
      { id: `cx:${c.id}`, label: t.cases.closeOther },
    ],
  });
}

// ── Intake ─────────────────────────────────────────────────────────────────────────────────

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
                         lat, lng, location_label, reporter_id, intake_staff_id, follow_code_hash, first_unit_id, created_at, updated_at)
      -- the same format as formatCaseNumber (rules.ts): at least four digits
      select ${caseId}::uuid, ${`${prefix}-${day.replace(/-/g, '')}-`} || lpad(n.last::text, greatest(4, length(n.last::text)), '0'),
             ${input.intakeKey}, ${input.communityId}, ${gridSql(input)}, ${input.placeId}, ${input.categoryId}, ${input.priority}::case_priority,
             ${input.description}, ${input.point ? String(input.point.lat) : null}::numeric, ${input.point ? String(input.point.lng) : null}::numeric,
             ${input.locationLabel ?? null}, ${input.reporterId}::uuid, ${input.intakeStaffId ?? null}::uuid, ${input.followCodeHash ?? null},
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

// ── Routing ────────────────────────────────────────────────────────────────────────────────

/**
 * 派单 for one case. A case that is no longer `submitted` (routed already, by a job that ran
 * twice, a batch or the sweep) is left alone.
 */
export async function routeCase(tx: Tx, fx: Effects, caseId: string, settings: CaseSettings, now: Date): Promise<'routed' | 'skipped'> {
  const { routed, failed } = await routeCases(tx, fx, { ids: [caseId] }, settings, now);
  if (failed[0]) throw failed[0].error;
  return routed.includes(caseId) ? 'routed' : 'skipped';
}

/** What routing reads of a case (a batch reads hundreds: only these columns). */
const routingColumns = {
  id: cases.id,
  number: cases.number,
  status: cases.status,
  level: cases.level,
  communityId: cases.communityId,
  gridId: cases.gridId,
  placeId: cases.placeId,
  categoryId: cases.categoryId,
  priority: cases.priority,
  description: cases.description,
  locationLabel: cases.locationLabel,
  lat: cases.lat,
  lng: cases.lng,
  deadlineSeq: cases.deadlineSeq,
};

/**
 * 派单 for several cases in one transaction: duty list → owner → person, the accept deadline,
 * the card; reference data is read once and every write is one statement for the whole batch.
 * Which cases:
 * - `{ ids }`: those cases, waiting for their locks (taken in id order);
 * - `{ first, limit }`: up to `limit` cases still waiting, `first` first and then the oldest,
 *   skipping any another transaction holds — so concurrent route jobs take disjoint batches and
 *   the jobs of the cases a batch took find them done.
 * Cases no longer `submitted` are left alone. A case that cannot be routed (the org tree lacks the
 * level its duty list names) is left waiting and reported in `failed`, so one bad case never holds
 * back the rest of a batch; its own job fails and retries, and the sweep tries it again.
 */
export async function routeCases(
  tx: Tx,
  fx: Effects,
  pick: { ids: readonly string[] } | { first: string; limit: number },
  settings: CaseSettings,
  now: Date,
): Promise<{ routed: string[]; failed: { caseId: string; error: Error }[] }> {
  const locked =
    'ids' in pick
      ? pick.ids.length
        ? await tx.select(routingColumns).from(cases).where(anyOf(cases.id, pick.ids)).orderBy(asc(cases.id)).for('update')
        : []
      : await tx
          .select(routingColumns)
          .from(cases)
          .where(eq(cases.status, 'submitted'))
          .orderBy(sql`${cases.id} = ${pick.first} desc`, asc(cases.createdAt))
          .limit(pick.limit)
          .for('update', { skipLocked: true });
  const waiting = locked.filter((c) => c.status === 'submitted');
  if (waiting.length === 0) return { routed: [], failed: [] };
  const batch: typeof waiting = [];
  const failed: { caseId: string; error: Error }[] = [];

  const [refs, policies, categories, followers] = await Promise.all([
    loadRoutingRefs(tx, waiting),
    tx.select().from(slaPolicies).where(anyOf(slaPolicies.priority, [...new Set(waiting.map((c) => c.priority))])),
    tx
      .select({ id: caseCategories.id, names: caseCategories.names, emergency: caseCategories.emergency })
      .from(caseCategories)
      .where(anyOf(caseCategories.id, [...new Set(waiting.map((c) => c.categoryId))])),
    tx
      .select({ caseId: caseFollowers.caseId, personId: caseFollowers.personId })
      .from(caseFollowers)
      .where(anyOf(caseFollowers.caseId, waiting.map((c) => c.id)))
      .orderBy(asc(caseFollowers.since)),
  ]);

  const updates: { id: string; level: Level; assignee_id: string | null; unit_id: number; sub_committee: SubCommittee | null; due_at: string; seq: number }[] = [];
  const events: EventRow[] = [];
  const told: Notice[] = [];
  const cards: Notice[] = [];
  for (const c of waiting) {
    // Decisions are plain functions over what was read; a case they cannot place (they throw
    // before anything is recorded for it) stays waiting.
    let decision: RouteDecision;
    let alsoTold: string[] = [];
    const category = categories.find((cat) => cat.id === c.categoryId);
    try {
      decision = chooseRoute(refs, c);
      if (category?.emergency || c.priority === 'urgent') {
        // 重大紧急突发事件: community and street hear at once, not after a missed deadline.
        const leaders = (['community', 'street'] as const).flatMap((level) => leadersIn(refs, c.communityId, level).people);
        alsoTold = [...new Set(leaders)].filter((p) => p !== decision.assigneeId);
      }
    } catch (err) {
      failed.push({ caseId: c.id, error: err as Error });
      continue;
    }
    batch.push(c);
    const due = deadline(slaFor(policies, c.categoryId, c.priority), 'accept', now, { scale: settings.deadlineScale });
    const timer = startDeadline(fx, c, due, now, { remind: decision.assigneeId !== null });
    updates.push({
      id: c.id,
      level: decision.level,
      assignee_id: decision.assigneeId,
      unit_id: decision.unitId,
      sub_committee: decision.subCommittee,
      due_at: timer.dueAt.toISOString(),
      seq: timer.deadlineSeq,
    });
    events.push(
      eventRow(c, 'assigned', {
        toStatus: 'assigned',
        level: decision.level,
        reason: decision.why,
        details: { assigneeId: decision.assigneeId, unitId: decision.unitId, subCommittee: decision.subCommittee, department: decision.department, dueAt: due.toISOString() },
        at: now,
      }),
    );
    const view = viewOf(c, category, c.placeId === null ? [] : lineageIn(refs, c.placeId));
    for (const personId of alsoTold) {
      told.push({
        personId,
        build: (t, locale) => ({
          text: t.cases.emergencyCard({ number: view.number, category: view.category(locale), place: view.place, description: view.description }),
          choices: [
            { id: `co:${c.id}`, label: t.cases.takeOver },
            { id: `cm:${c.id}`, label: t.cases.comment },
          ],
        }),
      });
    }
    const department = decision.department;
    for (const f of followers) {
      if (f.caseId !== c.id) continue;
      told.push({
        personId: f.personId,
        build: (t) => ({ text: department ? t.cases.toldDepartment({ number: c.number, department }) : t.cases.toldAssigned({ number: c.number }) }),
      });
    }
    if (decision.assigneeId) cards.push({ personId: decision.assigneeId, build: assigneeCard(view, c, due) });
  }

  if (batch.length === 0) return { routed: [], failed };
  // Whole-batch writes with the rows as one JSON parameter: the statement text is the same for
  // any batch size (one prepared statement) and costs nothing to build.
  await tx.execute(sql`
    update cases set status = 'assigned', level = v.level, assignee_id = v.assignee_id, assignee_unit_id = v.unit_id,
                     assignee_sub_committee = v.sub_committee, due_at = v.due_at, deadline_seq = v.seq, updated_at = ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
         as v (id uuid, level escalation_level, assignee_id uuid, unit_id int, sub_committee sub_committee, due_at timestamptz, seq int)
    where cases.id = v.id`);
  await insertEvents(tx, events);
  // Cards last: they also record each worker's "last choices shown" (a row every routing to that
  // worker writes), so those rows are locked as briefly as possible before commit.
  await fx.notifyAll([...told, ...cards]);
  return { routed: batch.map((c) => c.id), failed };
}

// ── The assignee's actions ─────────────────────────────────────────────────────────────────

/** Whether `actorId` may act on the case: its assignee, or a leader of the community, street or county above it. */
async function mayAct(tx: Tx, c: CaseRow, actorId: string): Promise<boolean> {
  return c.assigneeId === actorId || leadsAbove(tx, c.communityId, actorId);
}

async function mustBeHolder(tx: Tx, c: CaseRow, actorId: string) {
  if (!(await mayAct(tx, c, actorId))) throw new CaseError('not_yours', c.status);
}

/** 接单. The resolve deadline starts now (halved after a 重办). */
export async function acceptCase(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date) {
  return startWork(tx, fx, caseId, actorId, settings, now, 'accept');
}

/**
 * Someone takes the case into their hands: the assignee accepting it, or a leader taking it over
 * (我来处理). Either way the resolve deadline starts now and the resident hears it is in hand.
 */
async function startWork(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date, how: 'accept' | 'takeOver') {
  const c = await lockCase(tx, caseId);
  must(how, c);
  await mustBeHolder(tx, c, actorId);
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'resolve', now, { scale: settings.deadlineScale, reopened: c.reopenCount > 0 });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'accepted', assigneeId: actorId, acceptedAt: c.acceptedAt ?? now, firstResponseAt: c.firstResponseAt ?? now, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'accepted', { actorId, toStatus: 'accepted', reason: how === 'takeOver' ? 'take_over' : undefined, details: { dueAt: due.toISOString() }, at: now });
  if (c.status !== 'accepted') await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldAccepted({ number: c.number }) }));
  return { number: c.number, due };
}

/**
 * 办结 with a note the resident sees (and an optional photo). Resolves linked duplicates
 * together; every follower is asked to rate.
 */
export async function resolveCase(
  tx: Tx,
  fx: Effects,
  caseId: string,
  actorId: string,
  note: string,
  photo: CasePhotoInput | null,
  settings: CaseSettings,
  now: Date,
) {
  const c = await lockCase(tx, caseId);
  must('resolve', c);
  await mustBeHolder(tx, c, actorId);
  // Unrated cases close as 默认满意 when this deadline passes (the same timer machinery).
  const autoClose = new Date(now.getTime() + Math.max(1, Math.round(settings.autoCloseDays * 86_400_000 * settings.deadlineScale)));
  const seq = c.deadlineSeq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq, at: autoClose });
  await tx
    .update(cases)
    .set({
      status: 'resolved',
      assigneeId: c.assigneeId ?? actorId,
      acceptedAt: c.acceptedAt ?? now,
      firstResponseAt: c.firstResponseAt ?? now,
      resolvedAt: now,
      rating: null,
      ratingComment: null,
      dueAt: autoClose,
      deadlineSeq: seq,
      closeNote: note,
      updatedAt: now,
    })
    .where(eq(cases.id, c.id));
  if (photo) await tx.insert(casePhotos).values({ caseId: c.id, ...photo, purpose: 'resolution', addedBy: actorId });
  await event(tx, c, 'resolved', { actorId, toStatus: 'resolved', reason: note, details: { photo: !!photo }, at: now });
  await tellFollowers(tx, fx, c.id, (t) => ({
    text: t.cases.toldResolved({ number: c.number, note }),
    media: photo ? [{ kind: 'photo' as const, fileRef: photo.storageKey }] : undefined,
    choices: (['satisfied', 'basically_satisfied', 'unsatisfied'] as const).map((r) => ({ id: `cr:${c.id}:${r[0]}`, label: t.cases[`rate_${r}`] })),
  }));
  return { number: c.number };
}

export type TransferTarget = { kind: 'grid'; gridId: number } | { kind: 'subCommittee'; subCommittee: SubCommittee };

/** 转办 to another grid or a sub-committee, with a reason; the new holder gets a fresh card. */
export async function transferCase(tx: Tx, fx: Effects, caseId: string, actorId: string, target: TransferTarget, reason: string, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('transfer', c);
  await mustBeHolder(tx, c, actorId);
  let assigneeId: string | null = null;
  let unitId = c.communityId;
  let level: Level = 'community';
  let subCommittee: SubCommittee | null = null;
  let toLabel: (t: Messages) => string;
  if (target.kind === 'grid') {
    const grid = await getUnit(tx, target.gridId);
    const community = await getUnit(tx, c.communityId);
    if (!grid || grid.kind !== 'grid' || !community || !grid.path.startsWith(community.path)) throw new CaseError('not_allowed', c.status);
    assigneeId = (await staffAt(tx, grid.id, ['grid_worker']))[0]?.personId ?? null;
    unitId = grid.id;
    level = assigneeId ? 'grid' : 'community';
    toLabel = () => grid.name;
    if (!assigneeId) assigneeId = (await leadersAt(tx, c.communityId, 'community')).people[0] ?? null;
  } else {
    subCommittee = target.subCommittee;
    assigneeId = (await staffAt(tx, c.communityId, ['subcommittee_member'], { subCommittee }))[0]?.personId ?? null;
    if (!assigneeId) assigneeId = (await leadersAt(tx, c.communityId, 'community')).people[0] ?? null;
    const sub = subCommittee;
    toLabel = (t) => t.cases[`sub_${sub}`];
  }
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'accept', now, { scale: settings.deadlineScale });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'assigned', assigneeId, assigneeUnitId: unitId, assigneeSubCommittee: subCommittee, level, gridId: target.kind === 'grid' ? target.gridId : c.gridId, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'transferred', { actorId, toStatus: 'assigned', level, reason, details: { assigneeId, unitId, subCommittee, dueAt: due.toISOString() }, at: now });
  const view = await caseView(tx, { ...c, gridId: target.kind === 'grid' ? target.gridId : c.gridId });
  if (assigneeId && assigneeId !== actorId) await fx.notify(assigneeId, assigneeCard(view, c, due));
  await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldAssigned({ number: c.number }) }));
  return { number: c.number, toLabel: toLabel! };
}

/** 退回社区: the holder gives it back with a reason; the community office holds it next. */
export async function returnToCommunity(tx: Tx, fx: Effects, caseId: string, actorId: string, reason: string, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('return', c);
  await mustBeHolder(tx, c, actorId);
  const leaders = (await leadersAt(tx, c.communityId, 'community')).people;
  const assigneeId = leaders.find((p) => p !== actorId) ?? leaders[0] ?? null;
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'accept', now, { scale: settings.deadlineScale });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'assigned', level: 'community', assigneeId, assigneeUnitId: c.communityId, assigneeSubCommittee: null, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'returned', { actorId, toStatus: 'assigned', level: 'community', reason, details: { assigneeId, dueAt: due.toISOString() }, at: now });
  if (assigneeId && assigneeId !== actorId) await fx.notify(assigneeId, assigneeCard(await caseView(tx, c), c, due));
  return { number: c.number };
}

// ── Residents after resolution ─────────────────────────────────────────────────────────────

/** 好差评. 不满意 reopens it with the same worker and half the time (重办); otherwise it closes. */
export async function rateCase(tx: Tx, fx: Effects, caseId: string, personId: string, rating: Rating, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('rate', c);
  const followers = await followersOf(tx, c.id);
  if (c.reporterId !== personId && !followers.includes(personId)) throw new CaseError('not_yours', c.status);
  await event(tx, c, 'rated', { actorId: personId, details: { rating }, at: now });
  if (ratingOutcome(rating) === 'close') {
    await tx.update(cases).set({ status: 'closed', rating, closeReason: 'rated', closedAt: now, dueAt: null, updatedAt: now }).where(eq(cases.id, c.id));
    await event(tx, c, 'closed', { actorId: personId, toStatus: 'closed', reason: 'rated', at: now });
    return { number: c.number, outcome: 'closed' as const };
  }
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'resolve', now, { scale: settings.deadlineScale, reopened: true });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'accepted', rating, reopenCount: c.reopenCount + 1, resolvedAt: null, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'reopened', { actorId: personId, toStatus: 'accepted', reason: 'unsatisfied', details: { dueAt: due.toISOString() }, at: now });
  if (c.assigneeId) {
    const view = await caseView(tx, c);
    await fx.notify(c.assigneeId, (t, locale) => ({
      text: `${t.cases.toldReopened({ number: c.number })}\n${assigneeCard(view, c, due)(t, locale).text}`,
      choices: [{ id: `cv:${c.id}`, label: t.cases.resolve }],
    }));
  }
  await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldReopened({ number: c.number }) }));
  return { number: c.number, outcome: 'reopened' as const };
}

export async function commentOnRating(tx: Tx, caseId: string, personId: string, comment: string, now: Date) {
  const [c] = await tx.select().from(cases).where(and(eq(cases.id, caseId)));
  if (!c || (c.reporterId !== personId && !(await followersOf(tx, caseId)).includes(personId))) throw new CaseError('not_yours');
  await tx.update(cases).set({ ratingComment: comment, updatedAt: now }).where(eq(cases.id, caseId));
  await event(tx, c, 'commented', { actorId: personId, reason: comment, public: true, details: { on: 'rating' }, at: now });
}

/** 补充情况 while the case is open; the holder hears it. */
export async function addInfo(tx: Tx, fx: Effects, caseId: string, personId: string, text: string | null, photo: CasePhotoInput | null, now: Date) {
  const c = await lockCase(tx, caseId);
  must('addInfo', c);
  if (c.reporterId !== personId && !(await followersOf(tx, caseId)).includes(personId)) throw new CaseError('not_yours', c.status);
  if (photo) await tx.insert(casePhotos).values({ caseId, ...photo, purpose: 'info', addedBy: personId });
  await event(tx, c, 'info_added', { actorId: personId, reason: text ?? undefined, details: { photo: !!photo }, at: now });
  if (c.assigneeId) {
    await fx.notify(c.assigneeId, (t) => ({
      text: t.cases.infoForStaff({ number: c.number, text: text ?? '📷' }),
      media: photo ? [{ kind: 'photo' as const, fileRef: photo.storageKey }] : undefined,
    }));
  }
  return { number: c.number };
}

// ── Deadlines ──────────────────────────────────────────────────────────────────────────────

/**
 * A deadline passed. Does nothing unless `seq` is still the case's running deadline and has not
 * escalated yet — so the timer, a duplicate timer and the sweep can all call it safely. Open
 * cases climb one level (county stays county and is told again); resolved cases nobody rated
 * close as 默认满意.
 */
export async function deadlinePassed(
  tx: Tx,
  fx: Effects,
  caseId: string,
  seq: number,
  settings: CaseSettings,
  now: Date,
): Promise<'escalated' | 'closed' | 'skipped' | { early: Date }> {
  const c = await lockCase(tx, caseId);
  if (c.deadlineSeq !== seq || c.escalatedSeq >= seq || !c.dueAt) return 'skipped';
  // A timer that fires before its time (clocks of two machines disagree) tries again at the due time.
  if (c.dueAt > now) return { early: c.dueAt };
  if (c.status === 'resolved') {
    await tx
      .update(cases)
      .set({ status: 'closed', closeReason: 'default_satisfied', closedAt: now, escalatedSeq: seq, dueAt: null, updatedAt: now })
      .where(eq(cases.id, c.id));
    await event(tx, c, 'closed', { toStatus: 'closed', reason: 'default_satisfied', at: now });
    await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldClosed({ number: c.number, reason: t.cases.close_default_satisfied }) }));
    return 'closed';
  }
  if (!allowed('escalate', c.status)) return 'skipped';
  const to: Exclude<Level, 'grid'> = (nextLevel(c.level) ?? 'county') as Exclude<Level, 'grid'>;
  const { people: leaders } = await leadersAt(tx, c.communityId, to);
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'escalation', now, { scale: settings.deadlineScale });
  const next = seq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq: next, at: due });
  await tx
    .update(cases)
    .set({ level: to, escalatedSeq: seq, deadlineSeq: next, dueAt: due, updatedAt: now })
    .where(eq(cases.id, c.id));
  const missed = c.status === 'accepted' ? 'resolve' : 'accept';
  await event(tx, c, 'escalated', { level: to, reason: `missed_${missed}`, details: { from: c.level, to, seq, dueAt: due.toISOString(), leaders: leaders.length }, at: now });
  const view = await caseView(tx, c);
  for (const personId of leaders) {
    await fx.notify(personId, (t, locale) => ({
      text: t.cases.escalatedCard({
        number: view.number,
        level: t.cases[`level_${to}`],
        category: view.category(locale),
        place: view.place,
        description: view.description,
        due: formatDue(due),
      }),
      choices: [
        { id: `co:${c.id}`, label: t.cases.takeOver },
        { id: `cg:${c.id}`, label: t.cases.reassign },
        { id: `cm:${c.id}`, label: t.cases.comment },
      ],
    }));
  }
  if (c.level === 'grid') await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldEscalated({ number: c.number }) }));
  return 'escalated';
}

/**
 * Reminder `n` of a deadline: only while the same deadline runs and the holder has not acted on
 * it. 'stale' when that deadline is over (acted on, moved on): its timer has nothing left to do.
 */
export async function remindHolder(tx: Tx, fx: Effects, caseId: string, seq: number, n: number, now: Date): Promise<'reminded' | 'skipped' | 'stale'> {
  const c = await lockCase(tx, caseId);
  if (c.deadlineSeq !== seq || c.escalatedSeq >= seq || !c.dueAt) return 'stale';
  if (!c.assigneeId || c.dueAt <= now || (c.status !== 'assigned' && c.status !== 'accepted')) return 'skipped';
  const [already] = await tx
    .select({ id: caseEvents.id })
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, c.id), eq(caseEvents.kind, 'reminded'), sql`${caseEvents.details}->>'key' = ${`${seq}-${n}`}`));
  if (already) return 'skipped';
  await event(tx, c, 'reminded', { public: false, details: { key: `${seq}-${n}` }, at: now });
  const due = c.dueAt;
  const stage = c.status;
  await fx.notify(c.assigneeId, (t) => ({
    text: t.cases.reminder({ number: c.number, due: formatDue(due), what: stage === 'assigned' ? t.cases.whatAccept : t.cases.whatResolve }),
    choices: stage === 'assigned' ? [{ id: `ck:${c.id}`, label: t.cases.accept }] : [{ id: `cv:${c.id}`, label: t.cases.resolve }],
  }));
  return 'reminded';
}

// ── Closing without a fix: never just "not responsible" ─────────────────────────────────────

export type StaffCloseReason = 'not_our_duty' | 'transferred_out' | 'duplicate';

/**
 * Closes an open case for a reason other than a fix. 不属于本社区职责 and 已转办 must say where it
 * went; 重复 names the case it duplicates, whose followers it joins (they all hear the outcome).
 */
export async function closeCase(
  tx: Tx,
  fx: Effects,
  caseId: string,
  actorId: string,
  reason: StaffCloseReason,
  detail: string,
  now: Date,
): Promise<{ number: string; duplicateOf?: string }> {
  const c = await lockCase(tx, caseId);
  must('close', c);
  await mustBeHolder(tx, c, actorId);
  let duplicateOf: CaseRow | undefined;
  if (reason === 'duplicate') {
    [duplicateOf] = await tx.select().from(cases).where(and(eq(cases.number, detail.trim().toUpperCase()), eq(cases.communityId, c.communityId)));
    if (!duplicateOf || duplicateOf.id === c.id || duplicateOf.status === 'closed') throw new CaseError('not_found');
    for (const personId of await followersOf(tx, c.id)) {
      await tx.insert(caseFollowers).values({ caseId: duplicateOf.id, personId, since: now }).onConflictDoNothing();
    }
    await event(tx, duplicateOf, 'linked', { actorId, public: false, details: { duplicate: c.id }, at: now });
  }
  await tx
    .update(cases)
    .set({ status: 'closed', closeReason: reason, closeNote: detail, closedAt: now, dueAt: null, duplicateOf: duplicateOf?.id ?? null, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'closed', { actorId, toStatus: 'closed', reason, details: { detail, duplicateOf: duplicateOf?.id ?? null }, at: now });
  await tellFollowers(tx, fx, c.id, (t) => ({
    text: t.cases.toldClosed({ number: c.number, reason: t.cases.reasonWithDetail({ reason: t.cases[`close_${reason}`], detail: duplicateOf ? duplicateOf.number : detail }) }),
  }));
  return { number: c.number, duplicateOf: duplicateOf?.number };
}

// ── Leaders' actions on escalated cases ────────────────────────────────────────────────────

/** 我来处理: a leader takes the case over (accepting it) with a fresh resolve deadline. */
export async function takeOver(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date) {
  return startWork(tx, fx, caseId, actorId, settings, now, 'takeOver');
}

/** 批示: a comment for the holder, kept in the (staff-only) timeline. */
export async function commentCase(tx: Tx, fx: Effects, caseId: string, actorId: string, text: string, now: Date) {
  const c = await lockCase(tx, caseId);
  await mustBeHolder(tx, c, actorId);
  await event(tx, c, 'commented', { actorId, reason: text, public: false, at: now });
  if (c.assigneeId && c.assigneeId !== actorId) await fx.notify(c.assigneeId, (t) => ({ text: t.cases.commentForAssignee({ number: c.number, text }) }));
  return { number: c.number };
}

/** Open cases a person holds, soonest deadline first (the worker's 待办 list). */
export async function openCasesOf(tx: Tx, personId: string) {
  return tx
    .select({ id: cases.id, number: cases.number, status: cases.status, dueAt: cases.dueAt })
    .from(cases)
    .where(and(eq(cases.assigneeId, personId), inArray(cases.status, ['assigned', 'accepted']), isNull(cases.closedAt)))
    .orderBy(sql`${cases.dueAt} asc nulls last`)
    .limit(20);
}
