import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { verifyBallots } from '../../src/consultations/cli.js';
import { messages } from '../../src/i18n/index.js';
import type { RunningApp } from '../../src/app.js';
import type { ChatDriver } from '../support/chat-driver.js';

const zh = messages('zh-CN');
const t = zh.consultations;
const m = zh.consultationStaff;

/**
 * 社区协商 end to end, the same script on every channel: a resident proposes a topic and a
 * neighbour supports it; the community secretary turns it into a vote in the guided flow (the
 * whole community, voting from now); the residents hear of it, vote with buttons (numbered replies
 * on WeChat), confirm, and one changes their ballot; closing comes by the timer sweep; the result
 * is published to the voters and the receipt is looked up (the secretary publishes in chat);
 * `verify-ballots` recomputes the chain and the tally.
 */
export async function consultationStory(cast: { secretary: ChatDriver; resident: ChatDriver; neighbour: ChatDriver }, app: RunningApp, opts: { timeoutMs: number }) {
  const { secretary, resident, neighbour } = cast;
  const ms = opts.timeoutMs;
  const db = app.database.db;

  // 议题征集: propose, support (once).
  await resident.sendText('议题');
  await resident.expectMessage(t.topicsIntro, ms);
  await resident.choose(t.topicPropose);
  await resident.expectMessage(t.topicAskTitle, ms);
  await resident.sendText('加装电梯');
  await resident.expectMessage(t.topicAskBody, ms);
  await resident.sendText('3号楼老人多，上下楼困难，建议加装电梯。');
  await resident.expectMessage(t.topicProposed({ title: '加装电梯' }), ms);
  await neighbour.sendText('议题');
  await neighbour.expectMessage(t.topicsIntro, ms);
  await neighbour.choose('加装电梯');
  await neighbour.expectMessage(/3号楼老人多/, ms);
  await neighbour.choose(t.topicSupport);
  await neighbour.expectMessage(t.topicSupported, ms);

  // 发起协商 from the topic, in the guided flow.
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(t.menuCreate);
  await secretary.expectMessage(m.pickScope({ area: '幸福社区' }), ms);
  await secretary.choose(m.scopeAll({ area: '幸福社区' }));
  await secretary.expectMessage(m.areasPicked({ areas: '幸福社区' }), ms);
  await secretary.choose(m.areasDone);
  await secretary.expectMessage(t.createFromTopic, ms);
  await secretary.choose('加装电梯');
  await secretary.expectMessage(/每行一个/, ms);
  await secretary.sendText('同意、不同意');
  await secretary.expectMessage(t.createAskMultiple, ms);
  await secretary.choose(t.single);
  await secretary.expectMessage(t.createAskBasis, ms);
  await secretary.choose(t.basis_households);
  await secretary.expectMessage(t.createAskRule, ms);
  await secretary.choose(t.rule_simple_majority);
  await secretary.expectMessage(m.askOpens, ms);
  await secretary.choose(m.opensNow);
  await secretary.expectMessage(t.createAskDays, ms);
  await secretary.sendText('3');
  await secretary.expectMessage(t.createAskSecret, ms);
  await secretary.choose(t.secretBallot);
  await secretary.expectMessage(t.createAskChangeable, ms);
  await secretary.choose(t.changeableYes);
  await secretary.expectMessage(/请确认/, ms);
  await secretary.choose(t.createOpen);
  const created = await secretary.expectMessage(/已开始投票/, ms);
  const id = /编号：([0-9a-f-]{36})/.exec(created)![1]!;
  // The proposer hears their topic became a vote; everyone in scope gets the announcement.
  await resident.expectMessage(/有了结果：已转为协商投票「加装电梯」/, ms);
  await resident.expectMessage(/【社区协商】加装电梯/, ms);

  // Vote, confirm, change.
  await resident.sendText('投票');
  await resident.expectMessage(t.pickOne, ms);
  await resident.choose('同意');
  await resident.expectMessage(t.confirmAsk({ choices: '同意' }), ms);
  await resident.choose(t.confirm);
  const first = /回执号：([0-9a-f]{12})/.exec(await resident.expectMessage(/投票成功/, ms))![1]!;
  await resident.sendText('投票');
  await resident.expectMessage(new RegExp(`当前的投票：同意[\\s\\S]*${first}`), ms);
  await resident.choose(t.changeBallot);
  await resident.expectMessage(t.pickOne, ms);
  await resident.choose('不同意');
  await resident.expectMessage(t.confirmAsk({ choices: '不同意' }), ms);
  await resident.choose(t.confirm);
  const changed = /新回执号：([0-9a-f]{12})/.exec(await resident.expectMessage(/已修改投票/, ms))![1]!;
  await neighbour.sendText('投票');
  await neighbour.expectMessage(t.pickOne, ms);
  await neighbour.choose('同意');
  await neighbour.expectMessage(t.confirmAsk({ choices: '同意' }), ms);
  await neighbour.choose(t.confirm);
  await neighbour.expectMessage(/投票成功/, ms);

  // Closing time: the closing timer is due now; the app's timer sweep closes the vote and tells the secretary.
  await db.execute(sql`update consultations set closes_at = now() where id = ${id}`);
  await db.execute(sql`update timers set due_at = now() where kind = 'consultation-close' and subject_id = ${id}`);
  await secretary.expectMessage(/已结束投票/, ms);

  // The secretary publishes in chat (管理协商): the result as it stands, a confirmation, then frozen and sent.
  await secretary.sendText('菜单');
  await secretary.expectMessage(zh.dialog.menuTitle, ms);
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(m.menuManage);
  await secretary.choose(m.item({ status: m.status_closed, title: '加装电梯' }));
  await secretary.expectMessage(/票数相同，未获通过/, ms);
  await secretary.choose(m.publish);
  await secretary.expectMessage(/确认公布吗？/, ms);
  await secretary.choose(m.publishYes);
  await secretary.expectMessage(m.published, ms);
  const result = await resident.expectMessage(/【协商结果】加装电梯/, ms);
  expect(result).toContain('「同意」1 票、「不同意」1 票，票数相同，未获通过。');
  await resident.sendText(`回执 ${changed}`);
  await resident.expectMessage(`加装电梯: ${t.receiptFound({ choices: '不同意', counted: t.receiptCounted })}`, ms);

  // verify-ballots recomputes the chain and the tally.
  const lines: string[] = [];
  expect(await verifyBallots(db, id, 'zh-CN', (l) => lines.push(l))).toBe(true);
  expect(lines).toEqual(['chain ok: 3 ballots', 'tally ok: 2 counted; 同意 1, 不同意 1; not passed']);
}
