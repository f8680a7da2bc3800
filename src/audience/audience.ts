import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { audienceGroup } from '../../db/schema/index.js';
import type { Locale } from '../config.js';
import type { Channel } from '../dialog/events.js';

/**
 * 受众 (audience): org-unit scopes (county … building) and optional groups → the people bound to
 * a household there and their chats, for notices now and for consultations and activities next.
 * Read in keyset pages of households, so neither the audience nor its transaction grows with its
 * size: a street of 100,000 households is 100 pages of 1,000.
 *
 * Who is left out, always: people not bound to a household, erased, without a current consent
 * (withdrawn), and chats that blocked the bot. Each purpose adds its own filter: a `topic` the
 * person may have muted (omit it for what nobody may switch off, 应急) and `groups`.
 */

export type AudienceGroup = (typeof audienceGroup.enumValues)[number];

export interface AudienceSpec {
  /** Org unit ids; a household counts when it lies under any of them. */
  scopeUnitIds: readonly number[];
  /** Only people in one of these groups (on themselves or their household); empty = everyone. */
  groups?: readonly AudienceGroup[];
  /** Leave out people who muted this topic (muted_topics); undefined = nobody is left out for it. */
  topic?: string;
}

/** One chat of one person in the audience. */
export interface AudienceMember {
  identityId: string;
  personId: string;
  householdId: number;
  channel: Channel;
  chatRef: string;
  locale: Locale;
}

/** Where the next page starts: the scope being walked and the last household path read in it. */
export interface AudienceCursor {
  scope: number;
  after: string;
}

export interface AudiencePage {
  members: AudienceMember[];
  /** Pass back for the next page; null when this was the last. */
  next: AudienceCursor | null;
}

/** `path` under any scope, for the aggregate queries (preview). */
function underScopes(pathColumn: SQL, spec: AudienceSpec): SQL {
  if (spec.scopeUnitIds.length === 0) return sql`false`;
  return sql`exists (select 1 from org_units s where s.id = any(${sql.param([...spec.scopeUnitIds])}) and ${pathColumn} like s.path || '%')`;
}

/** The person-level filters every purpose shares, plus its groups. */
function personFilter(spec: AudienceSpec): SQL {
  const groups = spec.groups ?? [];
  return sql`p.household_status = 'bound' and p.erased_at is null
    ${groups.length ? sql`and exists (select 1 from audience_memberships am where am."group"::text = any(${sql.param([...groups])}::text[]) and (am.person_id = p.id or am.household_id = p.household_id))` : sql``}`;
}

const consented = sql`exists (select 1 from consents c where c.person_id = p.id and c.withdrawn_at is null)`;
const muted = (topic: string | undefined) => (topic === undefined ? sql`false` : sql`exists (select 1 from muted_topics m where m.person_id = p.id and m.topic = ${topic})`);

/**
 * Overlapping scopes reduced to the outermost (pure): a unit inside another picked unit is
 * dropped (its households are already in), and a unit picked twice is kept once, in input order.
 * Paths are materialised ('/1/2/'), so "inside" is a prefix.
 */
export function outermostScopes<T extends { id: number; path: string }>(units: readonly T[]): T[] {
  const once = [...new Map(units.map((u) => [u.id, u])).values()];
  return once.filter((u) => !once.some((o) => o.id !== u.id && u.path.startsWith(o.path)));
}

/** The scopes' paths, top first, without any that lies inside another (its households are already counted). */
export async function scopePaths(db: Queryable, spec: AudienceSpec): Promise<string[]> {
  if (spec.scopeUnitIds.length === 0) return [];
  const rows = (await db.execute(sql`select id, path from org_units where id = any(${sql.param([...spec.scopeUnitIds])}::int[]) order by path`)) as unknown as { id: number; path: string }[];
  return outermostScopes(rows).map((r) => r.path);
}

/**
 * The page's households as a CTE `hh (id, path)`: the next ones under one scope path after
 * `after` (up to and including `upto` when given), in path order. An index range read on the
 * materialised path (text_pattern_ops), so a page costs the same on the first and the hundredth.
 */
function householdsCte(scope: string, after: string, householdsPerPage: number, upto: string | null = null): SQL {
  return sql`hh as (
      select h.id, h.path from org_units h
      where h.path ~>=~ ${scope} and h.path ~<~ ${scopeEnd(scope)} and h.path ~>~ ${after} and h.kind = 'household'
        ${upto === null ? sql`` : sql`and h.path ~<=~ ${upto}`}
      order by h.path using ~<~ limit ${householdsPerPage})`;
}

/** Everything under '/1/2/' sorts from '/1/2/' up to (not including) '/1/20'. */
const scopeEnd = (scope: string) => `${scope.slice(0, -1)}0`;

/**
 * The reachable chats of the people in `hh` as a CTE `m (identity_id, person_id, household_id,
 * channel, chat_ref, locale, n)`, `n` giving their order (household path, then chat).
 */
function membersCte(spec: AudienceSpec): SQL {
  return sql`m as (
      select ci.id as identity_id, p.id as person_id, p.household_id, ci.channel, ci.chat_ref, p.locale,
             row_number() over (order by hh.path using ~<~, ci.id) as n
      from hh
      join people p on p.household_id = hh.id
      join channel_identities ci on ci.person_id = p.id and ci.blocked_at is null
      where ${personFilter(spec)} and ${consented} and not ${muted(spec.topic)})`;
}

/** Where a page that read `households` households ending at `last` leaves the walk of `paths`. */
function nextCursor(paths: readonly string[], cursor: AudienceCursor, households: number, last: string | null, householdsPerPage: number): AudienceCursor | null {
  if (households >= householdsPerPage && last !== null) return { scope: cursor.scope, after: last };
  return cursor.scope + 1 < paths.length ? { scope: cursor.scope + 1, after: '' } : null;
}

/**
 * One page of the audience: the next households under the scopes, in path order, and the
 * reachable chats of the people in them, in one statement; pages hold whole households, so a
 * retried page sees the same people. `paths` are the spec's `scopePaths` (read once per walk).
 */
export async function audiencePage(db: Queryable, spec: AudienceSpec, from: AudienceCursor | null, householdsPerPage: number, paths?: readonly string[]): Promise<AudiencePage> {
  const page = await writeAudiencePage<AudienceMember & { n: number }>(
    db,
    spec,
    from,
    householdsPerPage,
    sql`written as (
      select m.identity_id as "identityId", m.person_id as "personId", m.household_id as "householdId", m.channel, m.chat_ref as "chatRef", m.locale, m.n
      from m)`,
    paths,
  );
  const members = page.rows.sort((a, b) => Number(a.n) - Number(b.n)).map(({ n: _n, ...member }) => member);
  return { members, next: page.next };
}

/**
 * One page of the audience handed straight to a set-based write, in one statement: `write` is
 * a list of CTEs that read the page's members from `m` (see membersCte) and define `written`,
 * whose rows are returned. Nothing of the page passes through Node but what `written` returns,
 * so a fan-out page is one round trip however large. An empty page (`rows` empty, `next`
 * advancing) can happen between scopes.
 */
export async function writeAudiencePage<R>(
  db: Queryable,
  spec: AudienceSpec,
  from: AudienceCursor | null,
  householdsPerPage: number,
  write: SQL,
  knownPaths?: readonly string[],
): Promise<{ rows: R[]; next: AudienceCursor | null }> {
  const paths = knownPaths ?? (await scopePaths(db, spec));
  let cursor = from ?? { scope: 0, after: '' };
  for (;;) {
    const scope = paths[cursor.scope];
    if (scope === undefined) return { rows: [], next: null };
    const [page] = (await db.execute(sql`
      with ${householdsCte(scope, cursor.after, householdsPerPage)},
      ${membersCte(spec)},
      ${write}
      select (select count(*)::int from hh) as households,
             (select path from hh order by path using ~>~ limit 1) as last,
             coalesce((select json_agg(written) from written), '[]'::json) as rows`)) as unknown as { households: number; last: string | null; rows: R[] }[];
    if (page!.households === 0) {
      cursor = { scope: cursor.scope + 1, after: '' };
      continue;
    }
    return { rows: page!.rows, next: nextCursor(paths, cursor, page!.households, page!.last, householdsPerPage) };
  }
}

/** Walks the whole audience page by page (each page read on its own, never all at once). */
export async function* audiencePages(db: Queryable, spec: AudienceSpec, householdsPerPage: number, from: AudienceCursor | null = null): AsyncGenerator<AudiencePage> {
  const paths = await scopePaths(db, spec);
  let cursor = from;
  for (;;) {
    const page = await audiencePage(db, spec, cursor, householdsPerPage, paths);
    yield page;
    if (page.next === null) return;
    cursor = page.next;
  }
}

/** One page of a walk as bounds: the households under `paths[scope]` after `after`, up to and including `upto` (null: to the scope's end). */
export interface AudienceRange {
  scope: number;
  after: string;
  upto: string | null;
}

/**
 * The pages of a walk as ranges, each found by a cheap read of the index on the path (the
 * household that ends it), so a writer can have the next page under way while one is written.
 * Pages hold whole households and at most `householdsPerPage`; the last of a scope may be empty.
 */
export async function* audienceRanges(db: Queryable, paths: readonly string[], householdsPerPage: number): AsyncGenerator<AudienceRange> {
  for (let scope = 0; scope < paths.length; scope++) {
    const path = paths[scope]!;
    let after = '';
    for (;;) {
      // The page's last household and how many there are: a short page is the scope's last, and
      // an empty one is no page at all (an audience of whole pages ends without a statement that writes nothing).
      const [page] = (await db.execute(sql`
        with pg as (
          select h.path from org_units h
          where h.path ~>=~ ${path} and h.path ~<~ ${scopeEnd(path)} and h.path ~>~ ${after} and h.kind = 'household'
          order by h.path using ~<~ limit ${householdsPerPage})
        select (select count(*)::int from pg) as n, (select pg.path from pg order by pg.path using ~>~ limit 1) as last`)) as unknown as { n: number; last: string | null }[];
      if (!page || page.n === 0) break;
      yield { scope, after, upto: page.n < householdsPerPage ? null : page.last };
      if (page.n < householdsPerPage) break;
      after = page.last!;
    }
  }
}

/** One range of the audience handed to a set-based write in one statement (see writeAudiencePage for `write`). */
export async function writeAudienceRange<R>(db: Queryable, spec: AudienceSpec, paths: readonly string[], range: AudienceRange, householdsPerPage: number, write: SQL): Promise<R[]> {
  const [page] = (await db.execute(sql`
    with ${householdsCte(paths[range.scope]!, range.after, householdsPerPage, range.upto)},
    ${membersCte(spec)},
    ${write}
    select coalesce((select json_agg(written) from written), '[]'::json) as rows`)) as unknown as { rows: R[] }[];
  return page!.rows;
}

/** 发送前预览: how many people, by channel, and who cannot be reached and why. */
export interface AudiencePreview {
  /** People bound to a household in scope (and in the groups). */
  people: number;
  /** People who will get it on at least one channel. */
  reachable: number;
  /** Reachable people per channel (a person on two channels counts in both). */
  byChannel: Record<Channel, number>;
  unreachable: { noChannel: number; blocked: number; consentWithdrawn: number };
  /** People who muted this topic (not counted as unreachable: they chose so). */
  muted: number;
}

/** Counts the audience in one aggregate query (no rows leave the database). */
export async function previewAudience(db: Queryable, spec: AudienceSpec): Promise<AudiencePreview> {
  const [row] = (await db.execute(sql`
    with ppl as (
      select p.id, ${consented} as consented, ${muted(spec.topic)} as muted,
             exists (select 1 from channel_identities ci where ci.person_id = p.id) as has_chat,
             exists (select 1 from channel_identities ci where ci.person_id = p.id and ci.blocked_at is null) as open_chat
      from people p join org_units h on h.id = p.household_id
      where ${underScopes(sql`h.path`, spec)} and ${personFilter(spec)}
    ), reach as (
      select ci.channel, count(distinct ppl.id)::int as n
      from ppl join channel_identities ci on ci.person_id = ppl.id and ci.blocked_at is null
      where ppl.consented and not ppl.muted group by ci.channel
    )
    select (select count(*)::int from ppl) as people,
           (select count(*)::int from ppl where consented and not muted and open_chat) as reachable,
           (select count(*)::int from ppl where not consented) as "consentWithdrawn",
           (select count(*)::int from ppl where consented and muted) as muted,
           (select count(*)::int from ppl where consented and not muted and not has_chat) as "noChannel",
           (select count(*)::int from ppl where consented and not muted and has_chat and not open_chat) as blocked,
           (select coalesce(jsonb_object_agg(channel, n), '{}'::jsonb) from reach) as "byChannel"`)) as unknown as {
    people: number;
    reachable: number;
    consentWithdrawn: number;
    muted: number;
    noChannel: number;
    blocked: number;
    byChannel: Partial<Record<Channel, number>>;
  }[];
  const r = row!;
  return {
    people: r.people,
    reachable: r.reachable,
    byChannel: { telegram: r.byChannel.telegram ?? 0, wechat: r.byChannel.wechat ?? 0, web: r.byChannel.web ?? 0 },
    unreachable: { noChannel: r.noChannel, blocked: r.blocked, consentWithdrawn: r.consentWithdrawn },
    muted: r.muted,
  };
}
