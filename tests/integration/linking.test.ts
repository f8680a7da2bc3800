import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, linkCodes, people, staffAssignments } from '../../db/schema/index.js';
import { loadConfig } from '../../src/config.js';
import { createDialog, type Dialog } from '../../src/dialog/engine.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { residentFlows } from '../../src/residents/flows.js';
import { WRONG_CODE_LIMITS } from '../../src/limits/attempts.js';
import { notifyPerson } from '../../src/outbox/notify.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';
import { EngineChat } from '../support/engine-chat.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dialog: Dialog;
let town: SmallTown;

beforeAll(async () => {
  database = await createTestDatabase();
  town = await createSmallTown(database);
  dialog = createDialog({
    database,
    config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET }),
    logger: createLogger('silent'),
    flows: residentFlows,
    delivery: { enqueue: async () => {} },
  });
});
afterAll(async () => database.drop());

let n = 0;
const chatOn = (channel: 'telegram' | 'wechat' | 'web') => new EngineChat(dialog, database, `link-${channel}-${++n}`, channel);

async function onboarded(chat: EngineChat) {
  await chat.text('你好');
  await chat.choose('简体中文');
  await chat.choose(zh.onboarding.agree);
  await chat.choose(zh.onboarding.bindInvite);
  await chat.text(town.inviteCode);
  await chat.fresh();
}

async function linkCode(chat: EngineChat): Promise<string> {
  await chat.text('/link');
  const text = await chat.freshText();
  const code = /L-[2-9A-Z]{4}-[2-9A-Z]{4}/.exec(text)?.[0];
  if (!code) throw new Error(`no link code in: ${text}`);
  return code;
}

describe('one person on several channels (关联账号)', () => {
  it('joins a new WeChat chat to a Telegram resident without repeating onboarding', async () => {
    const telegram = chatOn('telegram');
    await onboarded(telegram);
    const code = await linkCode(telegram);
    const residentId = (await telegram.personId())!;

    const wechat = chatOn('wechat');
    await wechat.text(`/link ${code.toLowerCase()}`);
    const answer = await wechat.freshText();
    expect(answer).toContain(zh.linking.linked({ channels: 'Telegram、微信' }));
    expect(answer).toContain(zh.dialog.menuTitle);
    expect(await wechat.personId()).toBe(residentId);

    // The empty person the WeChat chat was created with is gone; one human, one person row.
    const rows = await database.db.select({ id: channelIdentities.personId }).from(channelIdentities).where(eq(channelIdentities.personId, residentId));
    expect(rows).toHaveLength(2);

    // A notice to the person reaches both chats.
    const queued = await database.db.transaction((tx) => notifyPerson(tx, residentId, (t) => ({ text: t.dialog.menuTitle })));
    expect(queued.map((q) => q.channel).sort()).toEqual(['telegram', 'wechat']);

    // The code was single-use.
    const again = chatOn('web');
    await again.text(`/link ${code}`);
    expect(await again.freshText()).toContain(zh.linking.invalid);
  });

  it('asks for the code when /link is sent alone in a new chat, and refuses a wrong one', async () => {
    const web = chatOn('web');
    await web.text('/link');
    expect(await web.freshText()).toBe(zh.linking.askCode);
    await web.text('L-2222-2222');
    expect(await web.freshText()).toBe(zh.linking.invalid);
    const identity = (await web.identityId())!;
    const [row] = await database.db.select({ personId: channelIdentities.personId }).from(channelIdentities).where(eq(channelIdentities.id, identity));
    expect(row!.personId).toBe(await web.personId());
  });

  it('refuses to merge a chat that already has a household of its own, and changes nothing', async () => {
    const a = chatOn('telegram');
    await onboarded(a);
    const code = await linkCode(a);
    const b = chatOn('wechat');
    await onboarded(b);
    const before = await b.personId();
    await b.text(`/link ${code}`);
    expect(await b.freshText()).toBe(zh.linking.hasOwnData);
    expect(await b.personId()).toBe(before);
    const [unused] = await database.db.select().from(linkCodes).where(eq(linkCodes.personId, (await a.personId())!));
    expect(unused!.usedAt).toBeNull();
  });

  it('stops a chat guessing link codes after five wrong ones in an hour', async () => {
    const owner = chatOn('telegram');
    await onboarded(owner);
    const code = await linkCode(owner);
    const guesser = chatOn('web');
    for (let i = 0; i < WRONG_CODE_LIMITS.person.points; i++) {
      await guesser.text(`/link L-2222-22${22 + i}`);
      expect(await guesser.freshText()).toBe(zh.linking.invalid);
    }
    // Even the right code is refused now, and nothing is linked.
    await guesser.text(`/link ${code}`);
    expect(await guesser.freshText()).toBe(zh.linking.tooManyAttempts);
    expect(await guesser.personId()).not.toBe(await owner.personId());
  });

  it('stops a person guessing staff codes after five wrong ones in an hour', async () => {
    const guesser = chatOn('wechat');
    await onboarded(guesser);
    for (let i = 0; i < WRONG_CODE_LIMITS.person.points; i++) {
      await guesser.text(`/staff S-2222-22${22 + i}`);
      expect(await guesser.freshText()).toBe(zh.staff.codeInvalid);
    }
    await guesser.text(`/staff ${town.staffCodes.street}`);
    expect(await guesser.freshText()).toBe(zh.staff.tooManyAttempts);
    const held = await database.db.select().from(staffAssignments).where(eq(staffAssignments.personId, (await guesser.personId())!));
    expect(held).toHaveLength(0);
  });

  it('keeps counting wrong link codes across new chats from one client, so a fresh session resets nothing', async () => {
    const owner = chatOn('telegram');
    await onboarded(owner);
    const code = await linkCode(owner);
    const clientKey = `client-${Date.now()}`;
    for (let i = 0; i < WRONG_CODE_LIMITS.client.points; i++) {
      // A new chat each time: a new person, as a new web session or "delete my data" gives.
      const guesser = chatOn('web');
      await guesser.send({ kind: 'text', text: `/link L-3333-33${22 + i}`, clientKey });
      expect(await guesser.freshText()).toBe(zh.linking.invalid);
    }
    const next = chatOn('web');
    await next.send({ kind: 'text', text: `/link ${code}`, clientKey });
    expect(await next.freshText()).toBe(zh.linking.tooManyAttempts);
    expect(await next.personId()).not.toBe(await owner.personId());
  });

  it('limits wrong household invite codes like every other code', async () => {
    const guesser = chatOn('telegram');
    await guesser.text('你好');
    await guesser.choose('简体中文');
    await guesser.choose(zh.onboarding.agree);
    await guesser.choose(zh.onboarding.bindInvite);
    await guesser.fresh();
    for (let i = 0; i < WRONG_CODE_LIMITS.person.points; i++) {
      await guesser.text(`H-4444-44${22 + i}`);
      expect(await guesser.freshText()).toBe(zh.onboarding.inviteInvalid);
    }
    await guesser.text(town.inviteCode);
    expect(await guesser.freshText()).toBe(zh.staff.tooManyAttempts);
    const [person] = await database.db.select().from(people).where(eq(people.id, (await guesser.personId())!));
    expect(person!.householdId).toBeNull();
  });

  it('tells a person that their own code needs no linking', async () => {
    const a = chatOn('web');
    await onboarded(a);
    const code = await linkCode(a);
    await a.text(`/link ${code}`);
    expect(await a.freshText()).toContain(zh.linking.own);
  });

  it('stores only the hash of a link code, and an expired code does not work', async () => {
    const a = chatOn('telegram');
    await onboarded(a);
    const code = await linkCode(a);
    const personId = (await a.personId())!;
    const rows = await database.db.select().from(linkCodes).where(eq(linkCodes.personId, personId));
    expect(JSON.stringify(rows)).not.toContain(code.replace(/-/g, ''));
    await database.db.update(linkCodes).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(linkCodes.personId, personId));
    const b = chatOn('web');
    await b.text(`/link ${code}`);
    expect(await b.freshText()).toContain(zh.linking.invalid);
    const [stillThere] = await database.db.select().from(people).where(eq(people.id, (await b.personId())!));
    expect(stillThere).toBeDefined();
  });
});
