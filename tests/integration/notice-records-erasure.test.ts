import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceMemberships, channelIdentities, mutedTopics, noticeDeliveries, noticeReads, people } from '../../db/schema/index.js';
import { addMembership } from '../../src/audience/groups.js';
import { setMuted } from '../../src/audience/preferences.js';
import { loadPerson } from '../../src/dialog/state.js';
import { createLogger } from '../../src/log.js';
import { confirmNotice, createNotice, recordRead } from '../../src/notices/commands.js';
import { fanOutNotice } from '../../src/notices/fanout.js';
import { issueLinkCode, redeemLinkCode } from '../../src/residents/linking.js';
import { erasePerson } from '../../src/residents/privacy.js';
import { quietWork } from '../support/activity-fixture.js';
import { assign, makePerson } from '../support/case-fixture.js';
import { createTestDatabase } from '../support/db.js';
import { resident } from '../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

/**
 * A notice's delivery records point at the person and the chat without foreign keys (the fan-out
 * writes them a thousand at a time; migration 0027), so the two places that delete people and
 * chats clean them up themselves: erasure takes everything notices kept on the person, linking
 * moves what a chat received to the person it joins.
 */
const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };

describe('notice records on erasure and linking (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let secretary: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const sendNotice = async () => {
    const n = await database.db.transaction((tx) => createNotice(tx, secretary, { title: '停水通知', body: '明天 9:00–12:00 停水，请提前储水。', category: 'outage', scopeUnitIds: [town.building.id] }, new Date()));
    await database.db.transaction((tx) => confirmNotice(tx, secretary, n.id, new Date(), quiet));
    await fanOutNotice({ database, delivery: { enqueue: async () => {} }, logger: createLogger('silent'), pageSize: 10, quiet }, n.id, 0);
    return n.id;
  };
  const recordsOf = async (personId: string) => ({
    deliveries: (await database.db.select().from(noticeDeliveries).where(eq(noticeDeliveries.personId, personId))).length,
    reads: (await database.db.select().from(noticeReads).where(eq(noticeReads.personId, personId))).length,
    muted: (await database.db.select().from(mutedTopics).where(eq(mutedTopics.personId, personId))).length,
    groups: (await database.db.select().from(audienceMemberships).where(eq(audienceMemberships.personId, personId))).length,
  });

  it('erasure deletes which notices reached the person, what they read, their mutes and their own groups; a neighbour keeps theirs', async () => {
    const gone = await resident(database, town.households[0]!.id, { channels: ['web', 'telegram'] });
    const neighbour = await resident(database, town.households[1]!.id);
    await database.db.transaction(async (tx) => {
      await setMuted(tx, gone.personId, 'notice.activity', true);
      await addMembership(tx, 'elderly', { personId: gone.personId }, { personId: gone.personId, source: 'self' });
      await setMuted(tx, neighbour.personId, 'notice.activity', true);
    });
    const noticeId = await sendNotice();
    await database.db.transaction((tx) => recordRead(tx, noticeId, gone.personId, 'button', new Date()));
    await database.db.transaction((tx) => recordRead(tx, noticeId, neighbour.personId, 'button', new Date()));
    expect(await recordsOf(gone.personId)).toEqual({ deliveries: 2, reads: 1, muted: 1, groups: 1 });
    const before = await recordsOf(neighbour.personId);
    expect(before).toMatchObject({ deliveries: 1, reads: 1, muted: 1 });

    const identities = await database.db.select({ id: channelIdentities.id }).from(channelIdentities).where(eq(channelIdentities.personId, gone.personId));
    await quietWork(database).run((uow) => erasePerson(uow, gone.personId, identities[0]!.id, new Date(), '（已删除）', quiet));
    expect(await recordsOf(gone.personId)).toEqual({ deliveries: 0, reads: 0, muted: 0, groups: 0 });
    // Nothing is left under either chat, the one handed to a fresh person included.
    expect(await database.db.select().from(noticeDeliveries).where(inArray(noticeDeliveries.identityId, identities.map((i) => i.id)))).toEqual([]);
    expect(await recordsOf(neighbour.personId)).toEqual(before);
  });

  it('linking moves what the joining chat received to the person it joins, before the empty person row goes', async () => {
    const target = await resident(database, town.households[2]!.id);
    const joining = await makePerson(database);
    const [chat] = await database.db.select({ id: channelIdentities.id }).from(channelIdentities).where(eq(channelIdentities.personId, joining));
    const noticeId = await sendNotice();
    // A record under the joining chat (a person who had been bound there once, say).
    await database.db.insert(noticeDeliveries).values({ noticeId, wave: 0, identityId: chat!.id, personId: joining, channel: 'web' });
    const { code } = await database.db.transaction((tx) => issueLinkCode(tx, target.personId, 'link-key'));
    await database.db.transaction(async (tx) => redeemLinkCode(tx, await loadPerson(tx, joining), chat!.id, code, 'link-key'));
    expect(await database.db.select().from(people).where(eq(people.id, joining))).toEqual([]);
    const moved = await database.db.select().from(noticeDeliveries).where(eq(noticeDeliveries.identityId, chat!.id));
    expect(moved.map((d) => d.personId)).toEqual([target.personId]);
    const orphans = await database.db.execute(sql`select count(*)::int as n from notice_deliveries d where not exists (select 1 from people p where p.id = d.person_id)`);
    expect(orphans[0]!.n).toBe(0);
  });
});
