import { readdirSync } from 'node:fs';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseFollowers, cases, channelIdentities, householdClaims, linkCodes, outbox, people } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jpegWithExif } from '../support/images.js';

const zh = messages('zh-CN');
const PHONE = '13912345678';
const DESCRIPTION = `楼道灯坏了，请打我电话 ${PHONE} 张秀英`;

interface WebReply {
  id: number;
  text: string;
  choices: { id: string; label: string }[];
}

/** The web chat's JSON API as the page uses it: one cookie, our Origin, replies by long poll. */
class WebChat {
  cookie = '';
  seen: WebReply[] = [];
  constructor(readonly base: string) {}
  async call(p: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await fetch(`${this.base}${p}`, { ...init, headers: { origin: this.base, ...(this.cookie ? { cookie: this.cookie } : {}), ...init.headers } });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
    return res;
  }
  post(body: Record<string, unknown>) {
    return this.call('/chat/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientMessageId: crypto.randomUUID(), ...body }) });
  }
  async poll(after = this.seen.at(-1)?.id ?? 0): Promise<WebReply[]> {
    const res = await this.call(`/chat/api/messages?after=${after}`);
    if (res.status !== 200) return [];
    return ((await res.json()) as { messages: WebReply[] }).messages;
  }
  /** Waits for a reply containing `text`. */
  async expect(text: string): Promise<WebReply> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const fresh = await this.poll();
      this.seen.push(...fresh);
      const hit = this.seen.find((r) => r.text.includes(text));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no reply containing ${text}; got ${this.seen.map((r) => r.text.slice(0, 30)).join(' | ')}`);
    }
  }
  /** Presses the newest offered choice labelled `label`, waiting for it to be offered. */
  async choose(label: string) {
    const deadline = Date.now() + 20_000;
    const find = () => [...this.seen].reverse().find((r) => r.choices.some((c) => c.label.includes(label)));
    while (!find() && Date.now() < deadline) this.seen.push(...(await this.poll()));
    const offered = find();
    if (!offered) throw new Error(`no choice ${label}`);
    this.seen = this.seen.filter((r) => r.id > offered.id || r === offered).map((r) => (r === offered ? { ...r, choices: [] } : r));
    const choice = offered.choices.find((c) => c.label.includes(label))!;
    expect((await this.post({ choice: choice.id })).status).toBe(202);
  }
  async say(text: string) {
    expect((await this.post({ text })).status).toBe(202);
  }
}

describe('deleting my data (PIPL art. 47) in the web chat', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.stop());

  it('ends the session, leaves nothing that identifies the person in any table, and no raw upload', async () => {
    const chat = new WebChat(t.app.url);
    expect((await chat.call('/chat/api/session', { method: 'POST' })).status).toBe(202);
    await chat.expect(zh.onboarding.welcome);
    await chat.choose('简体中文');
    await chat.expect(zh.onboarding.agree.slice(0, 2));
    await chat.choose(zh.onboarding.agree);
    await chat.expect(zh.onboarding.consentThanks);
    await chat.choose(zh.onboarding.bindInvite);
    await chat.say(t.town.inviteCode);
    await chat.expect(zh.dialog.menuTitle);
    await chat.choose(zh.cases.menuReport);
    await chat.expect(zh.cases.pickCategory);
    await chat.choose('环境卫生');
    await chat.say(DESCRIPTION);
    await chat.expect(zh.cases.askPhotos({ max: 4 }));
    const form = new FormData();
    form.append('photo', new Blob([new Uint8Array(await jpegWithExif())], { type: 'image/jpeg' }), 'a.jpg');
    form.append('clientMessageId', crypto.randomUUID());
    expect((await chat.call('/chat/api/photos', { method: 'POST', body: form })).status).toBe(202);
    await chat.expect(zh.cases.photoSaved({ n: 1, max: 4 }));
    await chat.choose(zh.cases.done);
    await chat.expect(zh.cases.askLocation);
    await chat.choose(zh.cases.atMyHome);
    await chat.choose(zh.cases.normal);
    await chat.choose(zh.cases.submit);
    const filed = await chat.expect('已受理');
    const number = /T-\d{8}-\d{4}/.exec(filed.text)![0];
    await chat.say('/link');
    await chat.expect('L-');

    const sid = decodeURIComponent(chat.cookie.split('=')[1]!).split('.')[0]!;
    const [identity] = await t.app.database.db.select().from(channelIdentities).where(eq(channelIdentities.userRef, sid));
    const personId = identity!.personId;

    await chat.say('/mydata');
    await chat.choose(zh.privacy.delete);
    await chat.expect(zh.privacy.confirmDelete.slice(0, 10));
    await chat.choose(zh.privacy.confirmYes);
    await chat.expect(zh.privacy.deleted);

    // The old cookie reads nothing of the earlier conversation and can no longer speak.
    expect((await chat.poll(0)).map((r) => r.text)).toEqual([zh.privacy.deleted]);
    const stale = chat.cookie;
    expect((await chat.post({ text: '还在吗' })).status).toBe(401);
    // The page then opens a new session: a new id, a new person, greeted afresh.
    expect((await chat.call('/chat/api/session', { method: 'POST' })).status).toBe(202);
    expect(chat.cookie).not.toBe(stale);

    // Table by table: no phone, no description, no name, nothing linking a row to the person or their home.
    const db = t.app.database;
    const tables = (await db.sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`).map((r) => r.name);
    for (const table of tables) {
      const rows = await db.sql.unsafe(`select row_to_json(t)::text as j from "${table}" t`);
      for (const { j } of rows as unknown as { j: string }[]) {
        expect(j, `${table} holds the phone`).not.toContain(PHONE);
        expect(j, `${table} holds the description`).not.toContain('楼道灯坏了');
        expect(j, `${table} holds the name`).not.toContain('张秀英');
      }
    }
    const [c] = await db.db.select().from(cases).where(eq(cases.number, number));
    expect(c).toMatchObject({ reporterId: null, placeId: null, description: zh.privacy.redacted });
    const [p] = await db.db.select().from(people).where(eq(people.id, personId));
    expect(p).toMatchObject({ phone: null, displayName: null, householdId: null });
    expect(p!.erasedAt).not.toBeNull();
    expect(await db.db.select().from(householdClaims).where(eq(householdClaims.personId, personId))).toEqual([]);
    expect(await db.db.select().from(caseFollowers).where(eq(caseFollowers.personId, personId))).toEqual([]);
    expect(await db.db.select().from(linkCodes).where(eq(linkCodes.personId, personId))).toEqual([]);
    expect(await db.db.select().from(channelIdentities).where(eq(channelIdentities.personId, personId))).toEqual([]);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from outbox o join channel_identities i on i.id = o.identity_id where i.user_ref = ${sid}`;
    expect(row!.n).toBe(1); // the "deleted" notice itself
    expect(await db.db.select({ id: outbox.id }).from(outbox).where(sql`${outbox.payload}::text like ${'%' + number + '%'}`)).toEqual([]);
    expect(readdirSync(path.join(t.dataDir, 'uploads'))).toEqual([]);
  }, 120_000);
});
