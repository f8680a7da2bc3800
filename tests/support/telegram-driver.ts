import type { ChatDriver } from './chat-driver.js';
import type { SentMessage, TelegramEmulator, UserOptions } from './telegram-emulator.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One Telegram user in a private chat with the bot, played through the Bot API emulator: writing
 * text, pressing inline buttons under the bot's messages, reading what the bot sent to this chat.
 */
export class TelegramDriver implements ChatDriver {
  readonly channel = 'telegram' as const;
  /** How many bot messages to this chat existed at the person's last action. */
  private seenBefore = 0;
  private lastUpdateId: number | undefined;

  constructor(
    readonly emulator: TelegramEmulator,
    readonly userId: number,
    readonly user: UserOptions = {},
  ) {}

  /** Bot messages to this chat, oldest first. */
  messages(): SentMessage[] {
    return this.emulator.sentTo(this.userId);
  }

  /** The update_id of the person's last action. */
  get lastUpdate(): number | undefined {
    return this.lastUpdateId;
  }

  private mark() {
    this.seenBefore = this.messages().length;
  }

  async sendText(text: string): Promise<void> {
    this.mark();
    this.lastUpdateId = this.emulator.userSendsText(this.userId, text, this.user);
  }

  /** Sends a photo (the emulator serves its bytes through getFile), optionally with a caption. */
  async sendPhoto(bytes: Buffer, caption?: string): Promise<void> {
    this.mark();
    this.lastUpdateId = this.emulator.userSendsPhoto(this.userId, bytes, caption, this.user);
  }

  /**
   * Presses the button labelled `label` (exactly, else containing it) under the latest bot message
   * that has one, preferring (and waiting up to 15 s for) a message that arrived after the last action, so an
   * old keyboard further up the chat is not pressed while the fresh one is still on its way.
   */
  async choose(label: string, timeoutMs = 15_000): Promise<void> {
    // An exact label beats one that only contains it (同意 must not press 不同意).
    const find = (from: number) => {
      const offered = this.messages()
        .slice(from)
        .flatMap((message) => (message.reply_markup?.inline_keyboard?.flat() ?? []).filter((b) => b.callback_data && b.text.includes(label)).map((b) => ({ message, b })));
      const hit = [...offered].reverse().find((o) => o.b.text === label) ?? offered.at(-1);
      return hit && { message: hit.message, data: hit.b.callback_data! };
    };
    const deadline = Date.now() + timeoutMs;
    let hit = find(this.seenBefore);
    while (!hit && Date.now() < deadline) {
      await sleep(50);
      hit = find(this.seenBefore);
    }
    hit ??= find(0);
    if (!hit) {
      const shown = this.messages().map((m) => `${m.text} [${(m.reply_markup?.inline_keyboard?.flat() ?? []).map((b) => b.text).join(' | ')}]`);
      throw new Error(`no inline button containing "${label}" in chat ${this.userId}; the bot sent:\n${shown.join('\n---\n')}`);
    }
    this.mark();
    this.lastUpdateId = this.emulator.userPressesButton(this.userId, hit.data, hit.message.message_id, this.user);
  }

  async expectMessage(pattern: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const matches = (t: string) => (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fresh = this.messages().slice(this.seenBefore);
      const hit = fresh.find((m) => matches(m.text));
      if (hit) return hit.text;
      if (Date.now() > deadline) {
        throw new Error(
          `no Telegram message matching ${String(pattern)} to chat ${this.userId}; after the last action came:\n${fresh.map((m) => m.text).join('\n---\n')}`,
        );
      }
      await sleep(50);
    }
  }

  async received(): Promise<string[]> {
    return this.messages().map((m) => m.text);
  }

  /** The emulator hands the person's last update out again, same update_id and content. */
  async resendLast(): Promise<void> {
    if (this.lastUpdateId === undefined) throw new Error('nothing sent yet');
    this.emulator.redeliver(this.lastUpdateId);
  }

  async close(): Promise<void> {}
}
