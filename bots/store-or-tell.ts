import type { InboundEvent } from '../src/dialog/events.js';
import { localeFromHint } from '../src/dialog/state.js';
import { messages } from '../src/i18n/index.js';
import type { Locale } from '../src/config.js';
import type { Logger } from '../src/log.js';

/**
 * How long a message is held and its storing retried while the database refuses it (a restart,
 * a failover, a full pool): about a minute, then the person is told.
 */
export const STORE_RETRY_MS: readonly number[] = [200, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000];

export type StoreOutcome = 'stored' | 'told' | 'lost';

/**
 * 消息不丢: a message the platform will not hand us again — WeChat never does, and a polled
 * Telegram update is confirmed by the next getUpdates — is stored, or the person is told it was
 * not. Storing is retried with back-off (the inbound record makes a retry after a store that did
 * commit a no-op); after the last try, or when the channel is stopping, the person hears that
 * their message was not recorded, straight through the platform (the database is what failed).
 */
export async function storeOrTell(
  event: InboundEvent,
  store: (event: InboundEvent) => Promise<unknown>,
  tell: (text: string) => Promise<unknown>,
  opts: { logger: Logger; running: () => boolean; retryMs?: readonly number[]; fallbackLocale?: Locale },
): Promise<StoreOutcome> {
  const schedule = opts.retryMs ?? STORE_RETRY_MS;
  const ids = { channel: event.channel, messageRef: event.messageRef };
  for (let attempt = 0; ; attempt++) {
    try {
      await store(event);
      if (attempt > 0) opts.logger.info({ ...ids, attempts: attempt + 1 }, 'inbound message stored after retries');
      return 'stored';
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (attempt < schedule.length && opts.running()) {
        opts.logger.warn({ ...ids, attempt: attempt + 1, err: reason }, 'inbound message not stored; retrying');
        await new Promise((r) => setTimeout(r, schedule[attempt]));
        continue;
      }
      opts.logger.error({ ...ids, err: reason }, 'inbound message not stored; telling the person');
      break;
    }
  }
  const locale = localeFromHint(event.languageHint) ?? opts.fallbackLocale ?? 'zh-CN';
  try {
    await tell(messages(locale).common.notStored);
    return 'told';
  } catch (err) {
    opts.logger.error({ ...ids, err: err instanceof Error ? err.message : String(err) }, 'inbound message lost: neither stored nor told');
    return 'lost';
  }
}
