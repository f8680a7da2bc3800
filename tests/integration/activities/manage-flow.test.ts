import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activitySessions, activitySignups, auditLog, people } from '../../../db/schema/index.js';
import { manageButton, MENU } from '../../../src/activities/buttons.js';
import { createActivity } from '../../../src/activities/create.js';
import { createActivityFlows } from '../../../src/activities/flows.js';
import { signUp } from '../../../src/activities/signups.js';
import { loadConfig } from '../../../src/config.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { ACTIVITY_SETTINGS, lecture, quietWork } from '../../support/activity-fixture.js';
import { assign } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const a = messages('zh-CN').activities;
const m = messages('zh-CN').activityStaff;

describe('活动管理 in chat: report, roster with 人工签到, children, coverage (dialog engine, real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let secretary: Awaited<ReturnType<typeof resident>>;
  let activityId: string;
  let sessionId: string;
  let childId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'silent' });
    dialog = createDialog({ database, sink: quietWork(database).sink, config, logger: createLogger('silent'), flows: [...residentFlows, ...createActivityFlows(ACTIVITY_SETTINGS)] });
    secretary = await resident(database, town.households[1]!.id);
    await assign(database, secretary.personId, 'community_secretary', town.community.id);

    const now = new Date();
    const from = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
    const until = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
    const made = await quietWork(database).run((uow) =>
      createActivity(uow, secretary.personId, { kind: 'after_school', title: '四点半课堂·冬季', venue: '社区活动室', communityId: town.community.id, capacity: 20, announce: false, schedule: { kind: 'series', from, until, weekday: 3, time: '16:30', durationMinutes: 90 } }, now, ACTIVITY_SETTINGS),
    );
    activityId = made.activityId;
    sessionId = made.sessions[0]!.id;
    const parent = await resident(database, town.households[0]!.id);
    const child = await resident(database, town.households[0]!.id);
    childId = child.personId;
    await database.db.update(people).set({ displayName: '王小明' }).where(eq(people.id, child.personId));
    await quietWork(database).run((uow) =>
      signUp(uow, { sessionId, personId: parent.personId, participantId: child.personId, child: { childName: '王小明', childGrade: '三年级', guardianName: '李红', guardianPhone: '13800001234' } }, now, ACTIVITY_SETTINGS),
    );
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('lists what the organiser runs, reports its sessions, and shows the children with the guardian’s phone masked, audited', async () => {
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.choice(MENU.manage);
    expect(await chat.freshText()).toContain(m.intro);
    await chat.choose('四点半课堂·冬季');
    const report = await chat.freshText();
    expect(report).toContain('【四点半课堂】四点半课堂·冬季');
    expect(report).toMatch(/#1 .*报名 1\/20，待确认 0，候补 0，到场 0/);
    expect(report).toContain(m.noNoShows);

    await chat.choose(m.childrenButton);
    const children = await chat.freshText();
    expect(children).toContain('王小明（三年级），接送：李红 138****1234【已确认】');
    expect(children).not.toContain('13800001234');
    const looks = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.minors.view'), eq(auditLog.actorId, secretary.personId)));
    expect(looks).toHaveLength(1);
  });

  it('marks someone who came without a phone present from the roster', async () => {
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.choice(manageButton('roster', sessionId));
    const roster = await chat.freshText();
    expect(roster).toContain('到场 0/1');
    expect(roster).toContain('⬜ 王小明');
    await chat.choose(m.markPresent({ name: '王小明' }));
    expect(await chat.freshText()).toContain(m.markedPresent({ name: '王小明' }));
    const [s] = await database.db.select().from(activitySignups).where(and(eq(activitySignups.sessionId, sessionId), eq(activitySignups.participantId, childId)));
    expect(s!.checkedInAt).not.toBeNull();
    await chat.choice(manageButton('roster', sessionId));
    expect(await chat.freshText()).toContain('✅ 王小明');
  });

  it('refuses staff who do not organise the activity, and shows them no child', async () => {
    const other = await resident(database, town.households[2]!.id);
    await assign(database, other.personId, 'grid_worker', town.grid.id);
    const chat = new EngineChat(dialog, database, other.refs.web!);
    await chat.choice(MENU.manage);
    expect(await chat.freshText()).toContain(m.empty);
    for (const press of [manageButton('show', activityId), manageButton('children', activityId), manageButton('roster', sessionId)]) {
      await chat.choice(press);
      expect(await chat.freshText()).toContain(a.err_not_organiser);
    }
    const [signup] = await database.db.select().from(activitySignups).where(eq(activitySignups.sessionId, sessionId));
    await chat.choice(manageButton('present', signup!.id));
    expect(await chat.freshText()).toContain(a.err_not_organiser);
    const looks = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.minors.view'), eq(auditLog.actorId, other.personId)));
    expect(looks).toHaveLength(0);
  });

  it('shows 服务进社区 coverage of the community, with the lines below the aim marked', async () => {
    const now = new Date();
    const made = await quietWork(database).run((uow) => createActivity(uow, secretary.personId, lecture(town.community.id, 30, new Date(now.getTime() + 3_600_000), { kind: 'service', serviceLine: 'law', title: '法律服务进社区', announce: false }), now, ACTIVITY_SETTINGS));
    // Held already: moved to just before now (the fact the count reads), as if it took place.
    await database.db.update(activitySessions).set({ startsAt: new Date(now.getTime() - 1000), endsAt: new Date(now.getTime() + 3_600_000) }).where(eq(activitySessions.activityId, made.activityId));
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.choice(MENU.manage);
    await chat.choose(m.coverageButton);
    const text = await chat.freshText();
    expect(text).toContain(`${a.line_law}：1/2${m.coverageBelow}`);
    expect(text).toContain(`${a.line_health}：0/2${m.coverageBelow}`);
  });
});
