import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceMemberships, auditLog, notices } from '../../../db/schema/index.js';
import { loadConfig } from '../../../src/config.js';
import { messages } from '../../../src/i18n/index.js';
import { runNoticeCli } from '../../../src/notices/cli.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';
import { CAMERA_MODEL, phonePhoto } from '../../support/images.js';
import { flushPrefix } from '../../support/redis.js';

const zh = messages('zh-CN').notices;

describe('npm run linli -- notice … (real PostgreSQL and Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let secretary: string;
  let otherWorker: string;
  const prefix = uniqueQueuePrefix();
  let config: ReturnType<typeof loadConfig>;
  let dataDir: string;
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    await runNoticeCli(argv, config, database, (l) => lines.push(l));
    return lines.join('\n');
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'linli-notice-cli-'));
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00', DATA_DIR: dataDir });
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    otherWorker = await makePerson(database);
    await assign(database, otherWorker, 'grid_worker', town.otherGrid.id);
    await resident(database, town.households[0]!.id, { channels: ['web', 'wechat'] });
  });
  afterAll(async () => {
    await database?.drop();
    await flushPrefix(prefix);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a grid worker a building of another grid, with the reason', async () => {
    await expect(run('draft', '--as', otherWorker, '--to', town.building.code, '--category', 'outage', '--title', '停水通知', '--text', '明天停水')).rejects.toThrow(
      zh.refused_outside_area({ area: '3号楼' }),
    );
    expect(await database.db.select().from(notices)).toHaveLength(0);
  });

  it('drafts with a preview, sends only with --yes, and audits under the staff member', async () => {
    const out = await run('draft', '--as', secretary, '--to', town.building.code, '--category', 'outage', '--title', '停水通知', '--text', '明天 9:00–12:00 停水');
    expect(out).toContain('people 1, reachable 1 (telegram 0, wechat 1, web 1)');
    const [n] = await database.db.select().from(notices);
    expect(await run('send', n!.id, '--as', secretary)).toContain('not sent: add --yes');
    expect((await database.db.select().from(notices))[0]!.status).toBe('draft');
    expect(await run('send', n!.id, '--as', secretary, '--yes')).toContain('sending');
    expect((await database.db.select().from(notices))[0]!.status).toBe('sending');
    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subjectId, n!.id))).map((a) => [a.action, a.actorId]);
    expect(actions).toEqual([
      ['notice.create', secretary],
      ['notice.confirm', secretary],
    ]);
    await expect(run('stats', n!.id, '--as', otherWorker)).rejects.toThrow(zh.refused_outside_area({ area: '3号楼' }));
    expect(await run('stats', n!.id, '--as', secretary)).toMatch(/recipients \d+, delivered \d+/);
  });

  it('keeps group membership on a household for staff who reach it', async () => {
    const hh = town.households[1]!.code;
    expect(await run('group', 'add', 'owners', '--as', secretary, '--household', hh)).toBe('added to owners');
    expect(await run('group', 'add', 'owners', '--as', secretary, '--household', hh)).toBe('nothing changed');
    await expect(run('group', 'add', 'owners', '--as', otherWorker, '--household', hh)).rejects.toThrow(zh.refused_outside_area({ area: '302' }));
    const rows = await database.db.select().from(audienceMemberships);
    expect(rows.map((r) => [r.group, r.householdId, r.source])).toEqual([['owners', town.households[1]!.id, 'staff']]);
  });

  it('sends a photo from a file through the photo pipeline, and refuses a bad file creating nothing', async () => {
    const before = (await database.db.select().from(notices)).length;
    const notAPhoto = path.join(dataDir, 'notice.txt');
    await writeFile(notAPhoto, '停水通知：这不是图片');
    const draft = (photo: string) => run('draft', '--as', secretary, '--to', town.building.code, '--category', 'outage', '--title', '停水通知', '--text', '明天停水', '--photo', photo);
    await expect(draft(notAPhoto)).rejects.toThrow(`--photo ${notAPhoto}: not a JPEG, PNG or WebP image; nothing was created`);
    await expect(draft(path.join(dataDir, 'missing.jpg'))).rejects.toThrow(/cannot read it \(ENOENT\)/);
    expect(await database.db.select().from(notices)).toHaveLength(before);

    const file = path.join(dataDir, 'outage.jpg');
    await writeFile(file, await phonePhoto({ width: 3000, height: 2000 }));
    const out = await draft(file);
    expect(out).toContain('with a photo');
    const [n] = (await database.db.select().from(notices)).filter((x) => x.photoKey);
    expect(n!.photoKey).toMatch(/^[a-f0-9]{64}\.jpg$/);
    // Stored where the app's deliverer reads photos, re-encoded: smaller, no camera or GPS Exif.
    const stored = await readFile(path.join(dataDir, 'photos', n!.photoKey!));
    const meta = await sharp(stored).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThan(3000);
    expect(meta.exif).toBeUndefined();
    expect(stored.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect(await readdir(path.join(dataDir, 'photos'))).toContain(n!.photoKey);
  });
});
