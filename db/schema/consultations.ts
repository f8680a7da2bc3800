import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { notices } from './notices.js';
import { orgUnits } from './org.js';
import { people } from './people.js';

/**
 * 社区协商 (consultations): a vote in a scope. Who votes (`basis`): each adult resident, one
 * ballot per household, or owners (业主) one per owned home weighted by floor area. The decision
 * rule (`rule`) is applied to the ballots by src/consultations/rules.ts. `eligible` is the
 * denominator snapshot taken at opening; `result` the tally frozen at publication.
 */
export const consultations = pgTable(
  'consultations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => people.id),
    title: text('title').notNull(),
    background: text('background').notNull(),
    options: text('options').array().notNull(),
    multiple: boolean('multiple').notNull().default(false),
    maxChoices: smallint('max_choices').notNull().default(1),
    basis: text('basis', { enum: ['adults', 'households', 'owners'] }).notNull(),
    rule: text('rule', { enum: ['simple_majority', 'quorum_majority', 'civil_code_278'] }).notNull(),
    quorumPct: smallint('quorum_pct').notNull().default(50),
    majorityPct: smallint('majority_pct').notNull().default(50),
    /** 重大事项 under art. 278 (maintenance fund, rebuilding, common parts): ≥ 3/4 instead of > 1/2. */
    weighty: boolean('weighty').notNull().default(false),
    secret: boolean('secret').notNull().default(true),
    /** Open ballots only: the published list names the voters. */
    showNames: boolean('show_names').notNull().default(false),
    changeable: boolean('changeable').notNull().default(true),
    /** Staff may close before `closesAt` (with a recorded reason). */
    earlyClose: boolean('early_close').notNull().default(false),
    closesAt: timestamp('closes_at', { withTimezone: true }).notNull(),
    /** 定时开始: a draft with a time opens by itself then (timer `consultation-open`, src/consultations/lifecycle.ts). */
    opensAt: timestamp('opens_at', { withTimezone: true }),
    status: text('status', { enum: ['draft', 'open', 'closed', 'published'] }).notNull().default('draft'),
    openedAt: timestamp('opened_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closeReason: text('close_reason'),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    eligible: jsonb('eligible').$type<{ people: number; households: number; owners: number; area: number }>(),
    result: jsonb('result').$type<Record<string, unknown>>(),
    /** Ballots in the log so far and the hash of the last one (the chain's head). */
    ballotSeq: integer('ballot_seq').notNull().default(0),
    chainHead: text('chain_head').notNull().default(''),
    noticeId: uuid('notice_id').references(() => notices.id),
    resultNoticeId: uuid('result_notice_id').references(() => notices.id),
    topicId: bigint('topic_id', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('consultations_status_idx').on(t.status, t.closesAt),
    check('consultations_basis_check', sql`${t.basis} IN ('adults', 'households', 'owners')`),
    check('consultations_rule_check', sql`${t.rule} IN ('simple_majority', 'quorum_majority', 'civil_code_278')`),
    check('consultations_status_check', sql`${t.status} IN ('draft', 'open', 'closed', 'published')`),
    check('consultations_choices_check', sql`${t.maxChoices} >= 1 AND ${t.maxChoices} <= cardinality(${t.options}) AND (${t.multiple} OR ${t.maxChoices} = 1)`),
    check('consultations_278_owners_check', sql`${t.rule} <> 'civil_code_278' OR ${t.basis} = 'owners'`),
    check('consultations_opens_before_closes_check', sql`${t.opensAt} IS NULL OR ${t.opensAt} < ${t.closesAt}`),
  ],
);

/** The org units a consultation covers (community, grids, buildings). */
export const consultationScopes = pgTable(
  'consultation_scopes',
  {
    consultationId: uuid('consultation_id')
      .notNull()
      .references(() => consultations.id, { onDelete: 'cascade' }),
    orgUnitId: integer('org_unit_id')
      .notNull()
      .references(() => orgUnits.id),
  },
  (t) => [primaryKey({ name: 'consultation_scopes_pk', columns: [t.consultationId, t.orgUnitId] }), index('consultation_scopes_unit_idx').on(t.orgUnitId)],
);

/** 委托投票: an owner authorised someone to vote for their home; staff record the authorisation. */
export const consultationProxies = pgTable(
  'consultation_proxies',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    consultationId: uuid('consultation_id')
      .notNull()
      .references(() => consultations.id),
    householdId: integer('household_id')
      .notNull()
      .references(() => orgUnits.id),
    grantor: text('grantor').notNull(),
    proxy: text('proxy').notNull(),
    /** Where the signed authorisation is kept (file number, scan key). */
    documentRef: text('document_ref').notNull(),
    recordedBy: uuid('recorded_by').references(() => people.id),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('consultation_proxies_household_key').on(t.consultationId, t.householdId)],
);

/**
 * Who took part (not what they chose): one row per voter — `p:<person>` for adults, `h:<household>`
 * otherwise — whichever way the ballot came (chat, paper, proxy). The primary key is the
 * one-per-voter rule. `voterToken` links to the ballot log only for open ballots; for secret ones
 * it stays null, so nothing stored next to a name says what was chosen.
 */
export const consultationVoters = pgTable(
  'consultation_voters',
  {
    /** No foreign key: written only while the consultation is held FOR KEY SHARE (migration 0025). */
    consultationId: uuid('consultation_id').notNull(),
    voterKey: text('voter_key').notNull(),
    via: text('via', { enum: ['chat', 'paper', 'proxy'] }).notNull(),
    personId: uuid('person_id').references(() => people.id, { onDelete: 'set null' }),
    householdId: integer('household_id').references(() => orgUnits.id),
    /** Floor area in 0.01 m² (owners' votes), else 0. */
    weight: integer('weight').notNull().default(0),
    proxyId: bigint('proxy_id', { mode: 'number' }).references(() => consultationProxies.id),
    voterToken: text('voter_token'),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull().defaultNow(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'consultation_voters_pk', columns: [t.consultationId, t.voterKey] }),
    check('consultation_voters_via_check', sql`${t.via} IN ('chat', 'paper', 'proxy')`),
  ],
);

/**
 * The ballot log: append-only (a trigger refuses UPDATE and DELETE, except linking). A ballot is
 * written with `contentHash` = sha256 of its content (src/consultations/chain.ts), whose start is
 * the voter's `receipt`; the linker then puts it on the consultation's chain, once: `seq`, and
 * `hash` = sha256 of `prevHash`, `seq` and `contentHash`. Casting never waits for the chain, so
 * ballots commit in parallel. A changed ballot is a new row that `replacesId` the earlier one.
 */
export const ballots = pgTable(
  'ballots',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** No foreign key: written only while the consultation is held FOR KEY SHARE (migration 0025). */
    consultationId: uuid('consultation_id').notNull(),
    /** HMAC of (consultation, voter key): the same voter's ballots share it; it names nobody. */
    voterToken: text('voter_token').notNull(),
    choices: smallint('choices').array().notNull(),
    weight: integer('weight').notNull().default(0),
    via: text('via', { enum: ['chat', 'paper', 'proxy'] }).notNull(),
    replacesId: bigint('replaces_id', { mode: 'number' }),
    castAt: timestamp('cast_at', { withTimezone: true }).notNull(),
    /** Random, so two equal ballots get different receipts. */
    nonce: text('nonce').notNull(),
    contentHash: text('content_hash').notNull(),
    receipt: text('receipt').notNull(),
    seq: integer('seq'),
    prevHash: text('prev_hash'),
    hash: text('hash'),
  },
  (t) => [
    uniqueIndex('ballots_seq_key')
      .on(t.consultationId, t.seq)
      .where(sql`${t.seq} IS NOT NULL`),
    index('ballots_voter_idx').on(t.consultationId, t.voterToken, t.id),
    // Linked rows only (migration 0030): receipts are looked up once a consultation is published, when all are linked.
    index('ballots_receipt_idx')
      .on(t.consultationId, t.receipt)
      .where(sql`${t.seq} IS NOT NULL`),
    index('ballots_replaces_idx')
      .on(t.consultationId, t.replacesId)
      .where(sql`${t.replacesId} IS NOT NULL`),
    index('ballots_unlinked_idx')
      .on(t.consultationId, t.id)
      .where(sql`${t.seq} IS NULL`),
  ],
);

/**
 * A block of the ballot chain: the ballots `firstSeq`…`lastSeq`, linked in one pass of the linker.
 * `hash` = sha256 of `prevHash` (the block before, '' for the first), the range and every linked
 * field of its rows (src/consultations/chain.ts `blockHash`), so verification hashes once per
 * block. Append-only (a trigger refuses UPDATE and DELETE, migration 0029).
 */
export const ballotBlocks = pgTable(
  'ballot_blocks',
  {
    consultationId: uuid('consultation_id').notNull(),
    firstSeq: integer('first_seq').notNull(),
    lastSeq: integer('last_seq').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    primaryKey({ name: 'ballot_blocks_pk', columns: [t.consultationId, t.lastSeq] }),
    check('ballot_blocks_range_check', sql`${t.firstSeq} >= 1 AND ${t.lastSeq} >= ${t.firstSeq}`),
  ],
);

/** 年满18周岁: what a person said once when first voting in an adults' consultation (no birth date). */
export const adultDeclarations = pgTable('adult_declarations', {
  personId: uuid('person_id')
    .primaryKey()
    .references(() => people.id, { onDelete: 'cascade' }),
  adult: boolean('adult').notNull(),
  declaredAt: timestamp('declared_at', { withTimezone: true }).notNull().defaultNow(),
});

/** 议题征集: a topic residents propose for consultation in their community. */
export const consultationTopics = pgTable(
  'consultation_topics',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    authorId: uuid('author_id').references(() => people.id, { onDelete: 'set null' }),
    title: text('title').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: ['open', 'answered', 'adopted', 'declined'] }).notNull().default('open'),
    answer: text('answer'),
    answeredBy: uuid('answered_by').references(() => people.id),
    consultationId: uuid('consultation_id').references(() => consultations.id),
    supports: integer('supports').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('consultation_topics_rank_idx').on(t.communityId, t.status, t.supports),
    check('consultation_topics_status_check', sql`${t.status} IN ('open', 'answered', 'adopted', 'declined')`),
  ],
);

/** One support per person per topic (the primary key). */
export const topicSupports = pgTable(
  'topic_supports',
  {
    topicId: bigint('topic_id', { mode: 'number' })
      .notNull()
      .references(() => consultationTopics.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'topic_supports_pk', columns: [t.topicId, t.personId] })],
);

export const topicComments = pgTable(
  'topic_comments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topicId: bigint('topic_id', { mode: 'number' })
      .notNull()
      .references(() => consultationTopics.id, { onDelete: 'cascade' }),
    personId: uuid('person_id').references(() => people.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('topic_comments_topic_idx').on(t.topicId, t.id)],
);
