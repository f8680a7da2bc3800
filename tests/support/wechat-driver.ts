import type { EventEmitter } from 'node:events';
import { FileBox } from 'file-box';
import { PuppetMock, mock } from 'wechaty-puppet-mock';
import type { ChatDriver } from './chat-driver.js';

/** One message seen by a resident's WeChat account. */
export interface SeenMessage {
  id: string;
  text: string;
  /** The puppet's message payload, as the emulator made it. */
  payload: mock.MessageMock['payload'];
}

/**
 * A ContactMock is a Node EventEmitter at run time ('message' with a MessageMock), but its typings
 * (typed-emitter's CommonJS default export) do not resolve under NodeNext, so `on` is not seen.
 */
const events = (contact: mock.ContactMock) => contact as unknown as EventEmitter;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined, or fails with `describe()`. */
async function waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(50);
  }
}

/**
 * The WeChat side of an e2e test: wechaty-puppet-mock's Mocker and PuppetMock (the puppet the
 * app's wechaty runs on) and the bot's own account. Like a real puppet resuming a saved session,
 * the bot account logs in again every time the puppet (re)starts, so a channel restart after a
 * puppet failure comes back on its own.
 */
export class WechatEmulator {
  readonly mocker = new mock.Mocker();
  readonly puppet = new PuppetMock({ mocker: this.mocker });
  /** The bot's WeChat account (the one wechaty is logged in as). */
  readonly bot: mock.ContactMock;
  /** How many times the bot account logged in (each puppet start adds one). */
  logins = 0;
  /** How many times the puppet started. */
  starts = 0;
  private readonly onStart = () => {
    this.starts++;
    // 'start' fires inside the puppet's start(); log in once it has settled as active.
    setImmediate(() => void this.autoLogin());
  };

  /** `botId` gives the bot account a known WeChat id (the same account on a second emulator). */
  constructor(botName = '邻里', opts: { botId?: string } = {}) {
    this.bot = this.mocker.createContact({ name: botName, ...(opts.botId ? { id: opts.botId } : {}) });
    this.puppet.on('start', this.onStart);
  }

  private async autoLogin() {
    try {
      await waitFor(() => (this.puppet.state.active() === true ? true : undefined), 15_000, () => 'puppet did not become active');
      if (this.puppet.isLoggedIn) return;
      this.mocker.login(this.bot);
      this.logins++;
    } catch {
      // The puppet was stopped again before it settled; the next start logs in.
    }
  }

  /** Resolves once the bot account has logged in more than `after` times and is logged in now. */
  async loggedIn(after = 0, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => (this.logins > after && this.puppet.isLoggedIn ? true : undefined),
      timeoutMs,
      () => `the bot did not log in (logins: ${this.logins}, puppet starts: ${this.starts})`,
    );
  }

  /** A resident's WeChat account (a known id: the same account on a second emulator), with a driver that talks to the bot from it. */
  contact(name: string, id?: string): WechatDriver {
    return new WechatDriver(this, this.mocker.createContact({ name, ...(id ? { id } : {}) }));
  }

  /** A group chat with these members (the bot included by the caller if wanted). */
  room(topic: string, members: mock.ContactMock[]): mock.RoomMock {
    return this.mocker.createRoom({ topic, memberIdList: members.map((m) => m.id), adminIdList: [], ownerId: members[0]?.id });
  }

  stop() {
    this.puppet.off('start', this.onStart);
  }
}

/**
 * ChatDriver for one WeChat contact on wechaty-puppet-mock: the person types with
 * `ContactMock.say().to(bot)`, and sees what the bot sends through the contact's `message`
 * events. WeChat has no buttons, so `choose` answers with the number of the numbered line.
 */
export class WechatDriver implements ChatDriver {
  readonly channel = 'wechat' as const;
  /** Messages the bot sent to this person, oldest first. */
  readonly inbox: SeenMessage[] = [];
  /** Messages this person sent (to the bot or into rooms), oldest first. */
  readonly sent: SeenMessage[] = [];
  /** Index into `inbox` of the first message that arrived after the person's last action. */
  private mark = 0;
  private readonly listener = (message: mock.MessageMock) => {
    const talker = message.talker().id;
    const entry = { id: message.id, text: message.text() ?? '', payload: message.payload };
    // The person's own messages come back too (a redelivered one only once in `sent`).
    if (talker === this.user.id) {
      if (!this.sent.some((m) => m.id === entry.id)) this.sent.push(entry);
    } else if (talker === this.emu.bot.id && message.listener()?.id === this.user.id) this.inbox.push(entry);
  };

  constructor(
    private readonly emu: WechatEmulator,
    readonly user: mock.ContactMock,
  ) {
    events(user).on('message', this.listener);
  }

  /** The person's WeChat id: the userRef/chatRef the app stores for them. */
  get id(): string {
    return this.user.id;
  }

  async sendText(text: string): Promise<void> {
    this.mark = this.inbox.length;
    this.user.say(text).to(this.emu.bot);
  }

  /**
   * Sends a picture as the person: the puppet makes an Image message (the type follows the file
   * name's extension) and serves the bytes to the bot through messageFile.
   */
  async sendPhoto(bytes: Buffer, name = 'photo.jpg'): Promise<void> {
    this.mark = this.inbox.length;
    this.user.say(FileBox.fromBase64(bytes.toString('base64'), name)).to(this.emu.bot);
  }

  /** Says something into a group chat the bot is in. */
  async sayInRoom(room: mock.RoomMock, text: string): Promise<void> {
    this.mark = this.inbox.length;
    this.user.say(text).to(room);
  }

  async choose(label: string, timeoutMs = 15_000): Promise<void> {
    // The menu usually comes in answer to the person's last action: wait for it.
    const fresh = await waitFor(() => this.numberFor(label, this.mark), timeoutMs, () => '').catch(() => undefined);
    const number = fresh ?? this.numberFor(label, 0);
    if (number === undefined) throw new Error(`no numbered choice "${label}" in:\n${this.dump()}`);
    await this.sendText(String(number));
  }

  /**
   * The number of the numbered line offering `label` in the latest message (from `from` on) that
   * offers it; a line that is exactly the label beats one that only contains it (同意 must not
   * pick 不同意).
   */
  private numberFor(label: string, from: number): number | undefined {
    const offered = this.inbox.slice(from).flatMap((message) =>
      message.text.split('\n').flatMap((line) => {
        const m = /^(\d+)\. (.*)$/.exec(line.trim());
        return m && m[2]!.includes(label) ? [{ number: Number(m[1]), label: m[2]! }] : [];
      }),
    );
    return ([...offered].reverse().find((o) => o.label === label) ?? offered.at(-1))?.number;
  }

  async expectMessage(pattern: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const matches = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
    return waitFor(
      () => this.inbox.slice(this.mark).find((m) => matches(m.text))?.text,
      timeoutMs,
      () => `no bot message matching ${String(pattern)} within ${timeoutMs} ms; since the last action:\n${this.dump(this.mark)}`,
    );
  }

  async received(): Promise<string[]> {
    return this.inbox.map((m) => m.text);
  }

  /** Delivers the person's last message again under the same message id, as the puppet would. */
  async resendLast(): Promise<void> {
    const last = this.sent.at(-1);
    if (!last) throw new Error('nothing sent yet');
    this.mark = this.inbox.length;
    this.emu.puppet.emit('message', { messageId: last.id });
  }

  /**
   * Delivers a message this account sent earlier (possibly seen through another emulator, before
   * the app restarted) once more: same message id, same payload.
   */
  async redeliver(message: SeenMessage): Promise<void> {
    if (message.payload.talkerId !== this.user.id) throw new Error('not a message from this account');
    this.mark = this.inbox.length;
    const msg = this.emu.mocker.MessageMock.create({ ...message.payload });
    this.emu.puppet.emit('message', { messageId: msg.id });
  }

  async close(): Promise<void> {
    events(this.user).off('message', this.listener);
  }

  private dump(from = 0): string {
    const shown = this.inbox.slice(from);
    return shown.length ? shown.map((m) => `  «${m.text}»`).join('\n') : '  (nothing)';
  }
}
