import { and, asc, eq, gt } from 'drizzle-orm';
import { channelIdentities, outbox } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { Channel } from '../../src/dialog/events.js';
import type { Reply } from '../../src/dialog/reply.js';
import type { Dialog } from '../../src/dialog/engine.js';

let seq = 0;

/**
 * One person talking to the real dialog engine directly (no channel), reading what the engine
 * wrote to the outbox. For flow-level integration tests; the e2e tests go through real channels.
 */
export class EngineChat {
  private lastSeen = 0;
  lastEvent: Record<string, unknown> | undefined;
  constructor(
    private readonly dialog: Dialog,
    private readonly database: Database,
    readonly userRef: string,
    readonly channel: Channel = 'web',
  ) {}

  async send(payload: { kind: 'text'; text: string } | { kind: 'choice'; choice: string } | Record<string, unknown>) {
    this.lastEvent = {
      channel: this.channel,
      userRef: this.userRef,
      chatRef: this.userRef,
      messageRef: `m${++seq}-${this.userRef}`,
      ...payload,
    };
    return this.dialog.handle(this.lastEvent);
  }
  text(text: string) {
    return this.send({ kind: 'text', text });
  }
  choice(choice: string) {
    return this.send({ kind: 'choice', choice });
  }
  /** Presses the offered choice whose label contains `label` in the latest reply that had one. */
  async choose(label: string) {
    const all = await this.all();
    const withChoice = [...all].reverse().find((r) => r.choices?.some((c) => c.label.includes(label)));
    const choice = withChoice?.choices?.find((c) => c.label.includes(label));
    if (!choice) throw new Error(`no choice "${label}" in: ${all.map((r) => r.text).join(' | ')}`);
    return this.choice(choice.id);
  }
  async identityId(): Promise<string | undefined> {
    const [row] = await this.database.db
      .select({ id: channelIdentities.id })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, this.channel), eq(channelIdentities.userRef, this.userRef)));
    return row?.id;
  }
  async personId(): Promise<string | undefined> {
    const [row] = await this.database.db
      .select({ id: channelIdentities.personId })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, this.channel), eq(channelIdentities.userRef, this.userRef)));
    return row?.id;
  }
  /** Every reply to this chat so far. */
  async all(): Promise<Reply[]> {
    const rows = await this.database.db
      .select({ id: outbox.id, payload: outbox.payload })
      .from(outbox)
      .where(and(eq(outbox.channel, this.channel), eq(outbox.chatRef, this.userRef)))
      .orderBy(asc(outbox.id));
    return rows.map((r) => r.payload as unknown as Reply);
  }
  /** Replies since the last call. */
  async fresh(): Promise<Reply[]> {
    const rows = await this.database.db
      .select({ id: outbox.id, payload: outbox.payload })
      .from(outbox)
      .where(and(eq(outbox.channel, this.channel), eq(outbox.chatRef, this.userRef), gt(outbox.id, this.lastSeen)))
      .orderBy(asc(outbox.id));
    if (rows.length) this.lastSeen = rows.at(-1)!.id;
    return rows.map((r) => r.payload as unknown as Reply);
  }
  async freshText(): Promise<string> {
    return (await this.fresh()).map((r) => r.text).join('\n');
  }
}
