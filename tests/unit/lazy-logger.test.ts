import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild } from '../../src/log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { logger, lines };
}

describe('lazyChild', () => {
  it('makes no child until something is logged, then logs with the bindings as they are then', () => {
    const { logger, lines } = capture();
    let made = 0;
    const ids: { personId?: string } = {};
    const log = lazyChild(logger, () => {
      made++;
      return { channel: 'web', ...ids };
    });
    expect(made).toBe(0);
    ids.personId = 'p-1';
    log.warn({ n: 1 }, 'first');
    log.info('second');
    expect(made).toBe(1);
    expect(lines.map((l) => [l.msg, l.channel, l.personId, l.app])).toEqual([
      ['first', 'web', 'p-1', 'linli'],
      ['second', 'web', 'p-1', 'linli'],
    ]);
  });

  it('nests: a lazy child of a lazy child carries both sets of bindings, redaction included', () => {
    const { logger, lines } = capture();
    const outer = lazyChild(logger, () => ({ messageRef: 'm-1' }));
    const inner = lazyChild(outer, () => ({ identityId: 'i-1' }));
    inner.error({ text: 'personal words' }, 'failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'failed', messageRef: 'm-1', identityId: 'i-1', text: '[redacted]' });
  });
});
