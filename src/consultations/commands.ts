import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { adultDeclarations, consultationProxies, consultations, consultationScopes, consultationVoters, orgUnits, people } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { checkAudienceScopes, MAX_SCOPES, type AudienceScopeRefusal } from '../audience/scopes.js';
import { checkScopes } from '../staff/scope.js';
import { contentHash, newNonce, receiptOf, voterToken } from './chain.js';
import { castFirstBallot, type FirstBallots } from './first-ballot.js';
import { areaUnits, BASES, canonicalChoices, checkChoices, eligibility, RULES, type Ineligible } from './rules.js';
import { underScopes } from '../audience/scopes.js';

/**
 * 社区协商 commands that shape a consultation and take ballots. Each takes a transaction, checks
 * who may do it, audits staff actions, and returns what happened; the lifecycle (open, close,
 * publish) is in lifecycle.ts.
 */

export type ConsultationRow = typeof consultations.$inferSelect;
export type Via = 'chat' | 'paper' | 'proxy';

export type ConsultationErrorReason =
  | AudienceScopeRefusal
  | 'not_found'
  | 'status'
  | 'in_past'
  | 'opens_in_past'
  | 'closes_before_opens'
  | 'ineligible'
  | 'bad_choices'
  | 'already_voted'
  | 'not_changeable'
  | 'paper_needs_household'
  | 'not_in_scope'
  | 'early_close_not_allowed'
  | 'frozen';

/** A refusal the person can act on (mapped to their language at the edge, explain.ts). */
export class ConsultationError extends Error {
  constructor(
    readonly reason: ConsultationErrorReason,
    readonly detail: { ineligible?: Ineligible; via?: Via; unitId?: number; status?: string; choices?: string } = {},
  ) {
    super(`consultation refused: ${reason}${detail.ineligible ? ` (${detail.ineligible})` : ''}`);
  }
}

/** Built once: a ballot parses its consultation id, and making the schema cost more than parsing. */
const consultationIdSchema = z.uuid();

export const consultationDraftSchema = z
  .object({
    title: z.string().trim().min(2).max(60),
    background: z.string().trim().min(2).max(900),
    options: z.array(z.string().trim().min(1).max(40)).min(2).max(9),
    multiple: z.boolean().default(false),
    maxChoices: z.number().int().min(1).max(9).default(1),
    scopeUnitIds: z.array(z.number().int().positive()).min(1).max(MAX_SCOPES),
    basis: z.enum(BASES),
    rule: z.enum(RULES).default('simple_majority'),
    quorumPct: z.number().int().min(1).max(100).default(50),
    majorityPct: z.number().int().min(50).max(99).default(50),
    weighty: z.boolean().default(false),
    secret: z.boolean().default(true),
    showNames: z.boolean().default(false),
    changeable: z.boolean().default(true),
    earlyClose: z.boolean().default(false),
    closesAt: z.coerce.date(),
    topicId: z.number().int().positive().optional(),
  })
  .refine((d) => d.maxChoices <= d.options.length && (d.multiple || d.maxChoices === 1), { message: 'maxChoices must fit the options', path: ['maxChoices'] })
  .refine((d) => d.rule !== 'civil_code_278' || d.basis === 'owners', { message: 'art. 278 is for owners’ votes', path: ['rule'] })
  .refine((d) => !(d.secret && d.showNames), { message: 'a secret ballot names nobody', path: ['showNames'] });
export type ConsultationDraft = z.input<typeof consultationDraftSchema>;

export async function mustReach(db: Queryable, actorId: string, unitIds: readonly number[]): Promise<void> {
  const decision = await checkScopes(db, actorId, unitIds);
  if (!decision.ok) throw new ConsultationError(decision.reason, { unitId: decision.unitId });
}

export async function scopesOf(db: Queryable, consultationId: string): Promise<number[]> {
  const rows = await db.select({ id: consultationScopes.orgUnitId }).from(consultationScopes).where(eq(consultationScopes.consultationId, consultationId));
  return rows.map((r) => r.id);
}

export async function getConsultation(db: Queryable, id: string): Promise<ConsultationRow | undefined> {
  if (!consultationIdSchema.safeParse(id).success) return undefined;
  const [row] = await db.select().from(consultations).where(eq(consultations.id, id));
  return row;
}

/** Locks the consultation row: every ballot of one consultation is appended under this lock (one chain). */
export async function lockConsultation(tx: Tx, id: string): Promise<ConsultationRow> {
  const [row] = consultationIdSchema.safeParse(id).success ? await tx.select().from(consultations).where(eq(consultations.id, id)).for('update') : [];
  if (!row) throw new ConsultationError('not_found');
  return row;
}

/** 发起协商: a draft over units the author reaches; nothing is announced until it opens. */
export async function createConsultation(tx: Tx, authorId: string, input: ConsultationDraft, now: Date): Promise<ConsultationRow> {
  const d = consultationDraftSchema.parse(input);
  const scopes = await checkAudienceScopes(tx, authorId, d.scopeUnitIds);
  if (!scopes.ok) throw new ConsultationError(scopes.reason, { unitId: scopes.unitId });
  const { unitIds } = scopes;
  if (d.closesAt.getTime() <= now.getTime()) throw new ConsultationError('in_past');
  const { scopeUnitIds: _, ...fields } = d;
  const [row] = await tx
    .insert(consultations)
    .values({ ...fields, authorId, createdAt: now, updatedAt: now })
    .returning();
  await tx.insert(consultationScopes).values(unitIds.map((orgUnitId) => ({ consultationId: row!.id, orgUnitId })));
  await recordAudit(tx, { actorId: authorId, action: 'consultation.create', subjectType: 'consultation', subjectId: row!.id, details: { basis: d.basis, rule: d.rule, scopes: unitIds } });
  return row!;
}

/** 年满18周岁: what the person said, asked once and kept (no birth date). */
export async function declareAdult(tx: Tx, personId: string, adult: boolean, now: Date): Promise<void> {
  await tx.insert(adultDeclarations).values({ personId, adult, declaredAt: now }).onConflictDoUpdate({ target: adultDeclarations.personId, set: { adult, declaredAt: now } });
}

async function householdFacts(db: Queryable, consultationId: string, householdId: number): Promise<{ inScope: boolean; owner: boolean; area: number }> {
  const [r] = (await db.execute(sql`
    select ${underScopes('consultation', consultationId, sql`h.path`)} as "inScope",
           exists (select 1 from audience_memberships am where am."group" = 'owners' and am.household_id = h.id) as owner,
           h.floor_area_m2 as area
    from org_units h where h.id = ${householdId} and h.kind = 'household'`)) as unknown as { inScope: boolean; owner: boolean; area: string | null }[];
  return r ? { inScope: r.inScope, owner: r.owner, area: areaUnits(r.area) } : { inScope: false, owner: false, area: 0 };
}

/** The consultation and what decides whether a person votes in it, read in one statement. */
function voterFactsQuery(db: Queryable) {
  const inScope = sql<boolean>`exists (select 1 from consultation_scopes s join org_units su on su.id = s.org_unit_id where s.consultation_id = ${consultations.id} and ${orgUnits.path} like su.path || '%')`;
  const owner = sql<boolean>`exists (select 1 from audience_memberships am where am."group" = 'owners' and am.household_id = ${orgUnits.id})`;
  return db
    .select({ c: consultations, householdId: people.householdId, status: people.householdStatus, erased: people.erasedAt, adult: adultDeclarations.adult, inScope, owner, area: orgUnits.floorAreaM2 })
    .from(consultations)
    .leftJoin(people, eq(people.id, sql.placeholder('personId')))
    .leftJoin(adultDeclarations, eq(adultDeclarations.personId, people.id))
    .leftJoin(orgUnits, and(eq(orgUnits.id, people.householdId), eq(orgUnits.kind, 'household')))
    .where(eq(consultations.id, sql.placeholder('consultationId')))
    .prepare('consultation_voter_facts');
}

/**
 * Built once per database handle: a ballot is the hottest statement of a vote, and building this
 * join with drizzle cost more CPU than PostgreSQL spends running it (bench/ballots.ts profile).
 */
const preparedFacts = new WeakMap<object, ReturnType<typeof voterFactsQuery>>();

async function voterFacts(db: Queryable, consultationId: string, personId: string) {
  let q = preparedFacts.get(db);
  if (!q) preparedFacts.set(db, (q = voterFactsQuery(db)));
  const [r] = await q.execute({ consultationId, personId });
  return r;
}

type Facts = NonNullable<Awaited<ReturnType<typeof voterFacts>>>;

function decideVoter(c: ConsultationRow, f: Omit<Facts, 'c'>, personId: string, now: Date) {
  return eligibility({
    basis: c.basis,
    open: c.status === 'open' && now.getTime() < c.closesAt.getTime(),
    personId,
    bound: f.status === 'bound' && !f.erased,
    householdId: f.householdId ?? null,
    inScope: f.householdId !== null && !!f.inScope,
    adult: f.adult ?? undefined,
    owner: !!f.owner,
  });
}

/** Whom a person votes as in a consultation, or why not. */
export async function voterFor(db: Queryable, c: ConsultationRow, personId: string, now: Date): Promise<ReturnType<typeof eligibility>> {
  const f = await voterFacts(db, c.id, personId);
  return f ? decideVoter(c, f, personId, now) : { ok: false, reason: 'not_open' };
}

export interface CastResult {
  receipt: string;
  /** false: the same choices were already the voter's ballot (a retry); nothing was added. */
  stored: boolean;
  changed: boolean;
  choices: number[];
}

/**
 * The consultation, held open for one ballot: FOR KEY SHARE, which ballots of many voters take
 * side by side and the linker does not block, but closing (FOR UPDATE) waits for and then stops.
 */
async function holdOpen(tx: Tx, id: string, now: Date): Promise<ConsultationRow> {
  const [c] = await tx.select().from(consultations).where(eq(consultations.id, id)).for('key share');
  if (!c) throw new ConsultationError('not_found');
  if (c.status !== 'open' || now.getTime() >= c.closesAt.getTime()) throw new ConsultationError('ineligible', { ineligible: 'not_open' });
  return c;
}

/**
 * When a voter row says its voter took part. In a secret vote, not when: a voter row (who) and a
 * ballot (what) written with the same time could be joined on it, so a secret vote's rows all
 * carry its opening time. Threat model: a ballot's token is an HMAC under the server key, so
 * whoever holds the key AND the database can recompute every voter's token and link them anyway;
 * what this closes is the app's views and the stored rows on their own linking them. (The row's
 * transaction id, xmin, still matches its ballot's: that needs database access beyond the app's.)
 * first-ballot.ts writes the same rule in SQL.
 */
function voterRowTime(c: Pick<ConsultationRow, 'secret' | 'openedAt' | 'createdAt'>, castAt: Date): Date {
  return c.secret ? (c.openedAt ?? c.createdAt) : castAt;
}

/**
 * Writes a ballot: checks the choices, takes the voter's row (the one-per-voter rule across chat,
 * paper and proxy: a household that voted one way is refused the other, told which way it voted),
 * whether a change is allowed, then appends the ballot with its content hash and receipt. A retry
 * with the same choices returns the existing receipt. Only the voter's row is locked, so ballots
 * of different voters commit in parallel; the chain is linked after commit (chain.ts).
 */
async function appendBallot(
  db: Queryable,
  c: ConsultationRow,
  key: string,
  v: { voterKey: string; householdId: number; personId: string | null; via: Via; proxyId?: number; weight: number },
  rawChoices: readonly number[],
  now: Date,
): Promise<CastResult> {
  const check = checkChoices(rawChoices, { optionCount: c.options.length, multiple: c.multiple, maxChoices: c.maxChoices });
  if (check !== 'ok') throw new ConsultationError('bad_choices', { choices: check });
  const choices = canonicalChoices(rawChoices);
  const token = voterToken(key, c.id, v.voterKey);
  const weight = c.basis === 'owners' ? v.weight : 0;
  // A first ballot, in one statement: the consultation still open (held FOR KEY SHARE, which
  // closing waits for), the voter row, the ballot. Taken only if the voter row is new.
  const first = { consultationId: c.id, voterToken: token, choices, weight, via: v.via, replacesId: null, castAt: now, nonce: newNonce() };
  const firstHash = contentHash(first);
  const seen = voterRowTime(c, now).toISOString();
  const [fast] = (await db.execute(sql`
    with open as (select id from consultations where id = ${c.id} and status = 'open' and closes_at > ${now.toISOString()} for key share),
    v as (
      insert into consultation_voters (consultation_id, voter_key, via, person_id, household_id, weight, proxy_id, voter_token, first_at, last_at)
      select id, ${v.voterKey}, ${v.via}, ${v.personId}, ${v.householdId}, ${weight}, ${v.proxyId ?? null}, ${c.secret ? null : token}, ${seen}, ${seen} from open
      on conflict do nothing returning consultation_id),
    b as (
      insert into ballots (consultation_id, voter_token, choices, weight, via, replaces_id, cast_at, nonce, content_hash, receipt)
      select consultation_id, ${token}, ${`{${choices.join(',')}}`}::smallint[], ${weight}, ${v.via}, null, ${now.toISOString()}, ${first.nonce}, ${firstHash}, ${receiptOf(firstHash)} from v
      returning id)
    select (select count(*)::int from open) as open, (select count(*)::int from b) as stored`)) as unknown as { open: number; stored: number }[];
  if (!fast!.open) throw new ConsultationError('ineligible', { ineligible: 'not_open' });
  if (fast!.stored) return { receipt: receiptOf(firstHash), stored: true, changed: false, choices };
  return db.transaction((tx) => nextBallot(tx, c, token, v, choices, weight, now));
}

/** A later ballot of the same voter (in its own transaction or savepoint): the way must match, a change must be allowed. */
async function nextBallot(
  tx: Tx,
  c: ConsultationRow,
  token: string,
  v: { voterKey: string; personId: string | null; via: Via },
  choices: number[],
  weight: number,
  now: Date,
): Promise<CastResult> {
  await holdOpen(tx, c.id, now);
  const [prior] = await tx
    .select({ via: consultationVoters.via })
    .from(consultationVoters)
    .where(and(eq(consultationVoters.consultationId, c.id), eq(consultationVoters.voterKey, v.voterKey)))
    .for('update');
  if (prior!.via !== v.via) throw new ConsultationError('already_voted', { via: prior!.via });
  const [last] = (await tx.execute(sql`
    select id, choices, receipt from ballots where consultation_id = ${c.id} and voter_token = ${token} order by id desc limit 1`)) as unknown as { id: string; choices: number[]; receipt: string }[];
  if (last && last.choices.join(',') === choices.join(',')) return { receipt: last.receipt, stored: false, changed: false, choices };
  if (!c.changeable) throw new ConsultationError('not_changeable');
  const replacesId = last ? Number(last.id) : null;
  await tx
    .update(consultationVoters)
    .set({ lastAt: voterRowTime(c, now), personId: v.personId, weight })
    .where(and(eq(consultationVoters.consultationId, c.id), eq(consultationVoters.voterKey, v.voterKey)));
  const content = { consultationId: c.id, voterToken: token, choices, weight, via: v.via, replacesId, castAt: now, nonce: newNonce() };
  const hash = contentHash(content);
  const receipt = receiptOf(hash);
  await tx.execute(sql`
    insert into ballots (consultation_id, voter_token, choices, weight, via, replaces_id, cast_at, nonce, content_hash, receipt)
    values (${c.id}, ${token}, ${`{${choices.join(',')}}`}::smallint[], ${weight}, ${v.via}, ${replacesId}, ${now.toISOString()}, ${content.nonce}, ${hash}, ${receipt})`);
  return { receipt, stored: true, changed: replacesId !== null, choices };
}

/**
 * 投票 in chat: a first ballot in one statement (first-ballot.ts; with `firstBallots`, the app's
 * group commit, it is committed with the first ballots cast at the same moment, before the
 * caller's transaction); anything else — a change, a
 * refusal with its reason — reads the person's eligibility, then writes: in the caller's
 * transaction (a chat step), or on its own (a change takes a transaction of its own). The caller links it into the chain after commit
 * (`CONSULTATION_LINK_JOB`); closing links the rest.
 */
export async function castBallot(db: Queryable, key: string, consultationId: string, personId: string, choices: readonly number[], now: Date, firstBallots?: FirstBallots): Promise<CastResult> {
  if (!consultationIdSchema.safeParse(consultationId).success) throw new ConsultationError('not_found');
  const first = await castFirstBallot(db, key, consultationId, personId, choices, now, firstBallots);
  if (first) return { ...first, stored: true, changed: false };
  const f = await voterFacts(db, consultationId, personId);
  if (!f) throw new ConsultationError('not_found');
  const who = decideVoter(f.c, f, personId, now);
  if (!who.ok) throw new ConsultationError('ineligible', { ineligible: who.reason });
  return appendBallot(db, f.c, key, { voterKey: who.voterKey, householdId: who.householdId, personId, via: 'chat', weight: areaUnits(f.area) }, choices, now);
}

/** A household's ballot entered by staff: from the paper form (纸质票), or for a proxy (委托) whose authorisation is recorded. */
export async function enterBallot(
  tx: Tx,
  key: string,
  actorId: string | null,
  consultationId: string,
  householdId: number,
  choices: readonly number[],
  now: Date,
  proxy?: { grantor: string; proxy: string; documentRef: string },
): Promise<CastResult> {
  const c = await holdOpen(tx, consultationId, now).catch((err: unknown) => {
    throw err instanceof ConsultationError && err.reason === 'ineligible' ? new ConsultationError('status') : err;
  });
  if (actorId) await mustReach(tx, actorId, await scopesOf(tx, c.id));
  if (c.basis === 'adults') throw new ConsultationError('paper_needs_household');
  const facts = await householdFacts(tx, c.id, householdId);
  if (!facts.inScope) throw new ConsultationError('not_in_scope');
  if (c.basis === 'owners' && !facts.owner) throw new ConsultationError('ineligible', { ineligible: 'not_owner' });
  let proxyId: number | undefined;
  let documentRef: string | undefined;
  if (proxy) {
    const p = z.object({ grantor: z.string().trim().min(1).max(60), proxy: z.string().trim().min(1).max(60), documentRef: z.string().trim().min(1).max(120) }).parse(proxy);
    const [row] = await tx
      .insert(consultationProxies)
      .values({ consultationId: c.id, householdId, ...p, recordedBy: actorId, recordedAt: now })
      .onConflictDoUpdate({ target: [consultationProxies.consultationId, consultationProxies.householdId], set: { ...p, recordedBy: actorId, recordedAt: now } })
      .returning({ id: consultationProxies.id });
    proxyId = row!.id;
    documentRef = p.documentRef;
  }
  const via: Via = proxy ? 'proxy' : 'paper';
  const result = await appendBallot(tx, c, key, { voterKey: `h:${householdId}`, householdId, personId: null, via, proxyId, weight: facts.area }, choices, now);
  // The audit names the household, and in an open vote the receipt and choices. Never a secret
  // ballot's receipt: with the published list (receipts and choices) it would say how the home
  // voted to whoever reads the audit trail. A proxy
  // ballot's names the authorisation and its document: re-recording overwrites the proxy row, the
  // audit keeps which signed paper each ballot came under (the names stay in the row, which
  // erasure redacts).
  await recordAudit(tx, { actorId, action: `consultation.${via}`, subjectType: 'consultation', subjectId: c.id, details: { householdId, ...(proxyId && { proxyId, documentRef }), ...(!c.secret && { receipt: result.receipt, choices: result.choices }) } });
  return result;
}

/** The voter's current ballot (their own, so choices may be shown to them) or undefined. */
export async function myBallot(db: Queryable, key: string, c: ConsultationRow, voterKey: string): Promise<{ choices: number[]; receipt: string; via: Via; castAt: Date } | undefined> {
  const [row] = (await db.execute(sql`
    select choices, receipt, via, cast_at as "castAt" from ballots where consultation_id = ${c.id} and voter_token = ${voterToken(key, c.id, voterKey)}
    order by id desc limit 1`)) as unknown as { choices: number[]; receipt: string; via: Via; castAt: string }[];
  return row ? { ...row, castAt: new Date(row.castAt) } : undefined;
}

/**
 * 回执查询: a published consultation's ballot with this receipt, and whether it was counted. Every
 * ballot of a published consultation is linked (closing links the rest), and only linked ballots
 * are in the receipt index (migration 0030), so the lookup says `seq is not null`.
 */
export async function findReceipt(db: Queryable, consultationId: string, receipt: string): Promise<{ choices: number[]; counted: boolean } | undefined> {
  const [row] = (await db.execute(sql`
    select b.choices, not exists (select 1 from ballots r where r.consultation_id = b.consultation_id and r.replaces_id = b.id) as counted
    from ballots b join consultations c on c.id = b.consultation_id
    where b.consultation_id = ${consultationId} and b.receipt = ${receipt.trim().toLowerCase()} and b.seq is not null and c.status = 'published' limit 1`)) as unknown as { choices: number[]; counted: boolean }[];
  return row;
}
