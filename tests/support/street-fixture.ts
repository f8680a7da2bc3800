import type { Database } from '../../db/client.js';

const COMMUNITIES = 20;
const GRIDS = 5;
const BUILDINGS = 10;

/** Telegram user ids of the seeded residents start above this (chat id = user id in a private chat). */
export const STREET_TELEGRAM_BASE = 700_000_000;

export interface Street {
  streetId: number;
  communityIds: number[];
  /** A street official (街道) who may send to the whole street. */
  secretary: string;
}

/**
 * A street of `households` homes (20 communities × 5 grids × 10 buildings × N), one resident each
 * with a consent and one chat, seeded in SQL a level per statement (never a person at a time).
 * On `web` the chat refs are `b-<person id>`; on `telegram` they are numeric user ids from
 * STREET_TELEGRAM_BASE + 1 up, so the Telegram emulator can know them (`knowUsers`).
 */
export async function seedStreet(database: Database, households: number, opts: { channel?: 'web' | 'telegram' } = {}): Promise<Street> {
  const channel = opts.channel ?? 'web';
  const perBuilding = Math.ceil(households / (COMMUNITIES * GRIDS * BUILDINGS));
  const s = database.sql;
  const [county] = await s`insert into org_units (kind, code, name, path) values ('county', 'B', '蛟河市', '/') returning id`;
  await s`update org_units set path = '/' || id || '/' where id = ${county!.id}`;
  const [street] = await s`insert into org_units (kind, parent_id, code, name, path) values ('street', ${county!.id}, 'B-S', '民主街道', '') returning id`;
  await s`update org_units set path = '/' || ${county!.id} || '/' || id || '/' where id = ${street!.id}`;
  // Each level in one statement: children of every unit of the level above.
  const level = async (kind: string, parentKind: string, n: number, name: string) => s.unsafe(`
    with fresh as (
      select nextval(pg_get_serial_sequence('org_units', 'id')) as id, p.id as parent_id, p.code || '-' || g as code, p.path, g
      from org_units p, generate_series(1, ${n}) g
      where p.kind = '${parentKind}' and p.path like '/${county!.id}/${street!.id}/%')
    insert into org_units (id, kind, parent_id, code, name, path)
    select id, '${kind}', parent_id, code, '${name}' || g, path || id || '/' from fresh`);
  await level('community', 'street', COMMUNITIES, '社区');
  await level('grid', 'community', GRIDS, '网格');
  await level('building', 'grid', BUILDINGS, '楼');
  await level('unit', 'building', 1, '单元');
  await level('household', 'unit', perBuilding, '');
  const ref = channel === 'telegram' ? `(${STREET_TELEGRAM_BASE} + row_number() over (order by id))::text` : `'b-' || id`;
  await s.unsafe(`
    with p as (insert into people (household_id, household_status)
               select id, 'bound' from org_units where kind = 'household' and path like '/${county!.id}/${street!.id}/%' returning id),
    c as (insert into consents (person_id, notice_version, channel) select id, 'bench', '${channel}' from p),
    r as (select id, ${ref} as ref from p)
    insert into channel_identities (person_id, channel, user_ref, chat_ref) select id, '${channel}', ref, ref from r`);
  await s`analyze`;
  const communityIds = (await s`select id from org_units where kind = 'community' and parent_id = ${street!.id} order by id`).map((r) => r.id as number);
  const [sec] = await s`insert into people (locale) values ('zh-CN') returning id`;
  await s`insert into staff_assignments (person_id, role, org_unit_id) values (${sec!.id}, 'street_official', ${street!.id})`;
  return { streetId: street!.id, communityIds, secretary: sec!.id as string };
}
