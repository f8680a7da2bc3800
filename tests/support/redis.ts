import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../jobs/backend.js';
import { TEST_REDIS_URL } from './db.js';

/**
 * Deletes every Redis key under a queue prefix: what FLUSHDB does to one deployment, without
 * touching the other tests that share this Redis; with `queues`, only those queues' keys.
 * Returns how many keys went.
 */
export async function flushPrefix(prefix: string, opts: { queues?: string[]; url?: string } = {}): Promise<number> {
  const redis = new Redis(redisOptionsFromUrl(opts.url ?? TEST_REDIS_URL));
  try {
    let deleted = 0;
    for (const pattern of opts.queues ? opts.queues.map((q) => `${prefix}:${q}:*`) : [`${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

