import { expect } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import type { ChatDriver } from '../support/chat-driver.js';
import type { SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const en = messages('en');

/** Resolves after `ms`; used only to give a duplicate the chance to (wrongly) produce a reply. */
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The onboarding every channel must carry, scripted once against the ChatDriver interface:
 * language → privacy consent → invite code → main menu, then the guarantees around it
 * (duplicate delivery changes nothing, bad input gets an answer, /mydata masks, staff binding).
 * Each channel's e2e test runs it through that channel's real emulator.
 */
export async function residentOnboarding(chat: ChatDriver, town: SmallTown): Promise<void> {
  await chat.sendText('你好');
  await chat.expectMessage(zh.onboarding.welcome);
  await chat.choose('简体中文');
  await chat.expectMessage(zh.onboarding.privacyNotice.slice(0, 12));
  await chat.choose(zh.onboarding.agree);
  await chat.expectMessage(zh.onboarding.consentThanks);

  // A wrong code is refused clearly; the right one (typed in lower case) binds.
  await chat.choose(zh.onboarding.bindInvite);
  await chat.expectMessage(zh.onboarding.askInvite);
  await chat.sendText('H-2222-2222');
  await chat.expectMessage(zh.onboarding.inviteInvalid);
  await chat.sendText(town.inviteCode.toLowerCase());
  await chat.expectMessage('3号楼 · 2单元 · 301');
  await chat.expectMessage(zh.dialog.menuTitle);

  // The platform delivering the same message again must change nothing and say nothing.
  const before = (await chat.received()).length;
  await chat.resendLast();
  await settle(1500);
  expect((await chat.received()).length).toBe(before);

  // Over-long input gets an answer and leaves the conversation where it was. The web page knows
  // the server's limit: it says so itself and keeps the text in the box (web-viewport.test.ts).
  if (chat.channel !== 'web') {
    await chat.sendText('长'.repeat(2100));
    await chat.expectMessage(zh.dialog.tooLong({ max: 2000 }));
  }

  // Language switch from anywhere, then back.
  await chat.sendText('language');
  await chat.choose('English');
  await chat.expectMessage(en.onboarding.languageChanged);
  await chat.sendText('语言');
  await chat.choose('简体中文');
  await chat.expectMessage(zh.onboarding.languageChanged);

  // /mydata shows what is held, with nothing unmasked that should not be.
  await chat.sendText('/mydata');
  await chat.expectMessage(/301/);

  // Unknown input never meets silence.
  await chat.sendText('随便说点什么');
  await chat.expectMessage(/菜单/);
}

/**
 * A grid worker, after the same language and consent steps (skipping the household), binds with
 * a one-time staff code; the second use of the code is refused.
 */
export async function staffBinding(worker: ChatDriver, town: SmallTown): Promise<void> {
  await worker.sendText('你好');
  await worker.choose('简体中文');
  await worker.choose(zh.onboarding.agree);
  await worker.choose(zh.onboarding.bindSkip);
  await worker.expectMessage(zh.onboarding.skipped);
  await worker.sendText(`/staff ${town.staffCodes.gridWorker}`);
  await worker.expectMessage(zh.staff.bound({ role: zh.staff.role_grid_worker, area: '民主街道 · 幸福社区 · 第一网格' }));
  await worker.sendText(`/staff ${town.staffCodes.gridWorker}`);
  await worker.expectMessage(zh.staff.codeInvalid);
}
