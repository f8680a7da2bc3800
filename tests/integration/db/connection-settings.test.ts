import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../../../db/client.js';
import { createTestDatabase } from '../../support/db.js';

/** db/client.ts SESSION_SETTINGS reach every pooled connection, beside a caller's own settings. */
describe('connection settings', () => {
  let fresh: Awaited<ReturnType<typeof createTestDatabase>>;
  let pooled: Database;
  beforeAll(async () => {
    fresh = await createTestDatabase({ migrate: false });
    pooled = connect(fresh.url, { max: 3, settings: { lock_timeout: '7s' } });
  });
  afterAll(async () => {
    await pooled.close();
    await fresh.drop();
  });

  it('turns JIT off on every connection of the pool and keeps the caller’s settings', async () => {
    // Three at once, so three connections answer.
    const rows = await Promise.all([1, 2, 3].map(() => pooled.sql<{ jit: string; lock: string; pid: number }[]>`select current_setting('jit') as jit, current_setting('lock_timeout') as lock, pg_backend_pid() as pid, pg_sleep(0.05)`));
    expect(new Set(rows.map(([r]) => r!.pid)).size).toBe(3);
    for (const [r] of rows) expect({ jit: r!.jit, lock: r!.lock }).toEqual({ jit: 'off', lock: '7s' });
    // The server's own default is on: the setting comes from the connection, not the machine.
    const [server] = await fresh.sql<{ boot: string }[]>`select boot_val as boot from pg_settings where name = 'jit'`;
    expect(server!.boot).toBe('on');
  });
});
