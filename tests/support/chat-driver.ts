/**
 * How an end-to-end script talks to linli as one person on one channel. Each channel's e2e test
 * implements it on top of a real emulator (Telegram Bot API server, wechaty-puppet-mock, Chromium),
 * so the same conversation script runs unchanged on all three.
 */
export interface ChatDriver {
  readonly channel: 'telegram' | 'wechat' | 'web';
  /** Sends text as the person. */
  sendText(text: string): Promise<void>;
  /**
   * Picks the offered choice labelled `label` (exactly, else the one containing it: 同意 must not
   * pick 不同意) in the latest message that offered it:
   * presses the button where the channel has buttons, replies with its number where it has not.
   */
  choose(label: string): Promise<void>;
  /**
   * Waits for a message from the bot, received after the person's last action, whose text matches
   * `pattern`; returns that text. Fails after `timeoutMs` (default 15 s) showing what did arrive.
   */
  expectMessage(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** All bot messages received so far, oldest first (for "nothing more arrived" checks). */
  received(): Promise<string[]>;
  /** Delivers the person's last platform message/update again, byte for byte (duplicate delivery). */
  resendLast(): Promise<void>;
  close(): Promise<void>;
}
