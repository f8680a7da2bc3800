import { z } from 'zod';

/** The only reader of process.env: everything else receives a parsed Config. */

export const ROLES = ['all', 'web', 'bot', 'worker'] as const;
export const LOCALES = ['zh-CN', 'ko', 'en'] as const;
export type Role = (typeof ROLES)[number];
export type Locale = (typeof LOCALES)[number];

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const optionalUrl = (protocols: string[]) =>
  optionalString.pipe(
    z
      .string()
      .refine((v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      }, `a URL starting with ${protocols.join(' or ')}`)
      .optional(),
  );

const positiveInt = (def: number) =>
  z.coerce.number({ error: 'a whole number above 0' }).int('a whole number above 0').positive('a whole number above 0').default(def);

const envSchema = z
  .object({
    LINLI_ROLE: z.enum(ROLES).default('all'),
    /** 0 picks any free port (tests). */
    PORT: z.coerce.number({ error: 'a port number from 0 to 65535' }).int('a port number from 0 to 65535').min(0, 'a port number from 0 to 65535').max(65535, 'a port number from 0 to 65535').default(3000),
    HOST: z.string().default('127.0.0.1'),
    /** Public base URL used in links (defaults to http://localhost:PORT). */
    PUBLIC_URL: optionalUrl(['http:', 'https:']),
    DATA_DIR: z.string().min(1).default('./data'),
    DEFAULT_LOCALE: z.enum(LOCALES).default('zh-CN'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
    /** Port for the embedded PostgreSQL used when DATABASE_URL is unset. */
    EMBEDDED_PG_PORT: positiveInt(54329),
    REDIS_URL: optionalUrl(['redis:', 'rediss:']),
    /** BullMQ namespace: a Redis key prefix, or a PostgreSQL schema on the PG backend. */
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _ - { }').default('linli'),

    TELEGRAM_BOT_TOKEN: optionalString.pipe(
      z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token like 123456:ABC-DEF…').optional(),
    ),
    TELEGRAM_API_ROOT: optionalUrl(['http:', 'https:']),
    TELEGRAM_WEBHOOK_URL: optionalUrl(['https:', 'http:']),
    TELEGRAM_WEBHOOK_SECRET: optionalString.pipe(
      z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 characters of A-Z a-z 0-9 _ -').optional(),
    ),
    /** Telegram limits (https://core.telegram.org/bots/faq): 30/s overall, 1/s per chat. */
    TELEGRAM_RATE_GLOBAL_PER_SEC: positiveInt(30),
    TELEGRAM_RATE_PER_CHAT_PER_SEC: positiveInt(1),
    TELEGRAM_RATE_PER_GROUP_PER_MIN: positiveInt(20),

    WECHATY_PUPPET: optionalString,
    WECHATY_PUPPET_TOKEN: optionalString,
    WECHATY_NAME: z.string().default('linli'),
    WECHAT_RATE_GLOBAL_PER_SEC: positiveInt(5),
    WECHAT_RATE_PER_CHAT_PER_SEC: positiveInt(1),

    WEB_CHAT_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    WEB_RATE_GLOBAL_PER_SEC: positiveInt(500),
    /** New web-chat sessions one network address may open per hour (each is a new person). */
    WEB_SESSIONS_PER_ADDRESS_PER_HOUR: positiveInt(60),
    /** Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry (the proxy's own). */
    WEB_TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    /** Photos the web chat accepts per session, and per network address, per day. */
    WEB_PHOTOS_PER_SESSION_PER_DAY: positiveInt(20),
    WEB_PHOTOS_PER_ADDRESS_PER_DAY: positiveInt(100),

    /** Secret used to sign web-chat session cookies; generated per data dir when unset. */
    SESSION_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
    /** When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
    METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'at least 16 characters').optional()),
    /** Key of the HMAC under which staff/invite/link/follow codes are stored; generated per data dir when unset. */
    CODE_SECRET: optionalString.pipe(z.string().min(32, 'at least 32 characters').optional()),
    /** Days a staff binding code stays valid. */
    STAFF_CODE_TTL_DAYS: positiveInt(7),
    /** Longest text a person may send in one message; longer input is refused politely. */
    MAX_TEXT_LENGTH: positiveInt(2000),

    /** Multiplies every case deadline: 1 in production, e.g. 0.001 for a drill (2 h → 7.2 s). */
    CASE_DEADLINE_SCALE: z.coerce.number({ error: 'a number above 0, e.g. 1 or 0.001' }).positive('a number above 0, e.g. 1 or 0.001').max(100).default(1),
    /** Days a resolved case waits for a rating before it closes as 默认满意. */
    CASE_AUTO_CLOSE_DAYS: positiveInt(7),
    /** How often the case sweep looks for unrouted cases and missed deadlines. */
    CASE_SWEEP_EVERY_MS: positiveInt(30_000),
    TIMER_SWEEP_EVERY_MS: positiveInt(5_000),
    /** Photos a resident may attach to one report. */
    CASE_MAX_PHOTOS: positiveInt(4),
    /**
     * 免打扰时段: non-urgent notices composed or due inside it are held until it ends. HH:MM or
     * HH:MM:SS, local time in NOTICE_TIME_ZONE; a window may wrap midnight (21:00-08:00).
     */
    NOTICE_QUIET_HOURS: z
      .string()
      .trim()
      .regex(/^\d{2}:\d{2}(:\d{2})?-\d{2}:\d{2}(:\d{2})?$/, 'HH:MM-HH:MM, e.g. 21:00-08:00')
      .refine((v) => v.split('-').every((t) => secondOfDay(t) !== undefined), 'times between 00:00 and 23:59:59')
      .default('21:00-08:00'),
    NOTICE_TIME_ZONE: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone, e.g. Asia/Shanghai')
      .default('Asia/Shanghai'),
    /** Recipients the notice fan-out writes per page (one transaction each). */
    NOTICE_FANOUT_PAGE: positiveInt(1000),
    /** Optional S3-compatible photo store (MinIO, COS, OSS …); unset = DATA_DIR/photos. */
    S3_ENDPOINT: optionalUrl(['http:', 'https:']),
    S3_BUCKET: optionalString,
    S3_REGION: z.string().default('us-east-1'),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    /** `true` addresses the bucket as `<endpoint>/<bucket>` (MinIO); the default is `<bucket>.<endpoint host>` (AWS, Aliyun OSS, COS). */
    S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { error: 'true or false' }).default('false').transform((v) => v === 'true'),
  });

export type Env = z.infer<typeof envSchema>;

/** 'HH:MM' or 'HH:MM:SS' → seconds after midnight, or undefined when it is no time of day. */
function secondOfDay(hms: string): number | undefined {
  const [h, m, s = 0] = hms.split(':').map(Number);
  if (h === undefined || m === undefined || h > 23 || m > 59 || s > 59) return undefined;
  return h * 3600 + m * 60 + s;
}

/**
 * Rules between variables. Checked on the raw values, separately from the schema, so a wrong
 * start-up names every problem at once rather than only those of the first pass.
 */
function crossFieldProblems(source: Record<string, string | undefined>): { variable: string; expected: string }[] {
  const set = (name: string) => (source[name] ?? '').trim() !== '';
  const problems: { variable: string; expected: string }[] = [];
  if (set('TELEGRAM_WEBHOOK_URL') && !set('TELEGRAM_WEBHOOK_SECRET')) {
    problems.push({
      variable: 'TELEGRAM_WEBHOOK_SECRET',
      expected: 'required when TELEGRAM_WEBHOOK_URL is set (Telegram sends it back so we can trust the caller)',
    });
  }
  if (set('TELEGRAM_WEBHOOK_URL') && !set('TELEGRAM_BOT_TOKEN')) {
    problems.push({ variable: 'TELEGRAM_BOT_TOKEN', expected: 'required when TELEGRAM_WEBHOOK_URL is set' });
  }
  if (set('S3_ENDPOINT')) {
    for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
      if (!set(name)) problems.push({ variable: name, expected: 'required when S3_ENDPOINT is set' });
    }
  }
  if (set('WECHATY_PUPPET_TOKEN') && !set('WECHATY_PUPPET')) {
    problems.push({ variable: 'WECHATY_PUPPET', expected: 'required when WECHATY_PUPPET_TOKEN is set' });
  }
  return problems;
}

export interface Config {
  role: Role;
  http: { port: number; host: string; publicUrl: string };
  dataDir: string;
  defaultLocale: Locale;
  logLevel: Env['LOG_LEVEL'];
  database: { url?: string; embeddedPort: number };
  queue: { redisUrl?: string; prefix: string };
  telegram?: {
    token: string;
    apiRoot?: string;
    webhook?: { url: string; secret: string };
    rate: { globalPerSec: number; perChatPerSec: number; perGroupPerMin: number };
  };
  wechat?: { puppet: string; token?: string; name: string; rate: { globalPerSec: number; perChatPerSec: number } };
  web: {
    enabled: boolean;
    rate: { globalPerSec: number };
    limits: { sessionsPerAddressPerHour: number; photosPerSessionPerDay: number; photosPerAddressPerDay: number };
    trustProxy: boolean;
  };
  sessionSecret?: string;
  codeSecret?: string;
  metricsToken?: string;
  staffCodeTtlDays: number;
  maxTextLength: number;
  cases: { deadlineScale: number; autoCloseDays: number; sweepEveryMs: number; maxPhotos: number };
  notices: { quietHours: { startSec: number; endSec: number }; timeZone: string; fanoutPage: number };
  photos: { s3?: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: boolean } };
  /** The timer sweep: fires due timers no wake-up job fired (Redis lost), at most this late. */
  timers: { sweepEveryMs: number };
}

/** Thrown when the environment is wrong; the message names every bad variable and what it expects. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; expected: string }[]) {
    super(
      'linli cannot start: the configuration is invalid.\n' +
        problems.map((p) => `  ${p.variable}: ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Parses the environment once. Pass a plain object in tests. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(environment)'), expected: i.message }))),
    ...crossFieldProblems(source),
  ];
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    role: e.LINLI_ROLE,
    http: { port: e.PORT, host: e.HOST, publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}` },
    dataDir: e.DATA_DIR,
    defaultLocale: e.DEFAULT_LOCALE,
    logLevel: e.LOG_LEVEL,
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
    queue: { redisUrl: e.REDIS_URL, prefix: e.QUEUE_PREFIX },
    telegram: e.TELEGRAM_BOT_TOKEN
      ? {
          token: e.TELEGRAM_BOT_TOKEN,
          apiRoot: e.TELEGRAM_API_ROOT,
          webhook:
            e.TELEGRAM_WEBHOOK_URL && e.TELEGRAM_WEBHOOK_SECRET
              ? { url: e.TELEGRAM_WEBHOOK_URL, secret: e.TELEGRAM_WEBHOOK_SECRET }
              : undefined,
          rate: {
            globalPerSec: e.TELEGRAM_RATE_GLOBAL_PER_SEC,
            perChatPerSec: e.TELEGRAM_RATE_PER_CHAT_PER_SEC,
            perGroupPerMin: e.TELEGRAM_RATE_PER_GROUP_PER_MIN,
          },
        }
      : undefined,
    wechat: e.WECHATY_PUPPET
      ? {
          puppet: e.WECHATY_PUPPET,
          token: e.WECHATY_PUPPET_TOKEN,
          name: e.WECHATY_NAME,
          rate: { globalPerSec: e.WECHAT_RATE_GLOBAL_PER_SEC, perChatPerSec: e.WECHAT_RATE_PER_CHAT_PER_SEC },
        }
      : undefined,
    web: {
      enabled: e.WEB_CHAT_ENABLED,
      rate: { globalPerSec: e.WEB_RATE_GLOBAL_PER_SEC },
      limits: {
        sessionsPerAddressPerHour: e.WEB_SESSIONS_PER_ADDRESS_PER_HOUR,
        photosPerSessionPerDay: e.WEB_PHOTOS_PER_SESSION_PER_DAY,
        photosPerAddressPerDay: e.WEB_PHOTOS_PER_ADDRESS_PER_DAY,
      },
      trustProxy: e.WEB_TRUST_PROXY,
    },
    sessionSecret: e.SESSION_SECRET,
    codeSecret: e.CODE_SECRET,
    metricsToken: e.METRICS_TOKEN,
    staffCodeTtlDays: e.STAFF_CODE_TTL_DAYS,
    maxTextLength: e.MAX_TEXT_LENGTH,
    timers: { sweepEveryMs: e.TIMER_SWEEP_EVERY_MS },
    cases: {
      deadlineScale: e.CASE_DEADLINE_SCALE,
      autoCloseDays: e.CASE_AUTO_CLOSE_DAYS,
      sweepEveryMs: e.CASE_SWEEP_EVERY_MS,
      maxPhotos: e.CASE_MAX_PHOTOS,
    },
    notices: {
      quietHours: { startSec: secondOfDay(e.NOTICE_QUIET_HOURS.split('-')[0]!)!, endSec: secondOfDay(e.NOTICE_QUIET_HOURS.split('-')[1]!)! },
      timeZone: e.NOTICE_TIME_ZONE,
      fanoutPage: e.NOTICE_FANOUT_PAGE,
    },
    photos: {
      s3:
        e.S3_ENDPOINT && e.S3_BUCKET && e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
          ? {
              endpoint: e.S3_ENDPOINT,
              bucket: e.S3_BUCKET,
              region: e.S3_REGION,
              accessKeyId: e.S3_ACCESS_KEY_ID,
              secretAccessKey: e.S3_SECRET_ACCESS_KEY,
              forcePathStyle: e.S3_FORCE_PATH_STYLE,
            }
          : undefined,
    },
  };
}
