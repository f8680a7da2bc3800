import pino from 'pino';

/**
 * Fields never written to a log, wherever they appear in a log object: credentials (the bot
 * token, cookies, secrets, passwords, Authorization) and personal data (phone, name, message
 * text). Bindings carry ids (personId, caseId, jobId, updateId); this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'cookie',
  '*.cookie',
  'authorization',
  '*.authorization',
  'headers',
  '*.headers',
  'phone',
  '*.phone',
  'text',
  '*.text',
  'displayName',
  '*.displayName',
];

/**
 * An error as logged: its kind, message, code and stack, nothing else. Errors carry far more as
 * properties — grammY's BotError its whole context (with `api.token`), postgres.js errors the
 * statement's `parameters` (message text) and a `detail` quoting the values — none of which may
 * reach a log. Known secrets are cut out of what is left.
 */
export function safeError(err: unknown, secrets: string[] = []): Record<string, unknown> {
  const scrub = (s: string | undefined) => (s === undefined ? undefined : secrets.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s));
  if (!(err instanceof Error)) return { message: scrub(String(err)) };
  const e = err as Error & { code?: unknown; error?: unknown };
  // grammY wraps the real error (BotError: the middleware's; HttpError: the network's): it says what failed.
  const cause = e.error instanceof Error ? e.error : e.cause instanceof Error ? e.cause : undefined;
  return {
    type: e.name,
    message: scrub(e.message),
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
    stack: scrub(e.stack),
    ...(cause ? { cause: safeError(cause, secrets) } : {}),
  };
}

/**
 * Structured logs. `secrets` (the bot token and other configured credentials) are removed from
 * error messages and stacks; `destination` is for tests that read what was logged.
 */
export function createLogger(level: string = 'info', opts: { secrets?: string[]; destination?: pino.DestinationStream } = {}) {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const options: pino.LoggerOptions = {
    level,
    base: { app: 'linli' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: (err: unknown) => safeError(err, secrets) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export type Logger = ReturnType<typeof createLogger>;

/** The credentials in a configuration, for `createLogger`'s `secrets`. */
export function configuredSecrets(config: {
  telegram?: { token: string; webhook?: { secret: string } };
  wechat?: { token?: string };
  sessionSecret?: string;
  codeSecret?: string;
  metricsToken?: string;
  photos: { s3?: { secretAccessKey: string } };
}): string[] {
  return [
    config.telegram?.token,
    config.telegram?.token.split(':')[1],
    config.telegram?.webhook?.secret,
    config.wechat?.token,
    config.sessionSecret,
    config.codeSecret,
    config.metricsToken,
    config.photos.s3?.secretAccessKey,
  ].filter((s): s is string => !!s);
}

/**
 * A child logger made only once something is logged through it. The dialog engine names one per
 * message (channel and message ref, then the person's ids) and on the happy path logs nothing;
 * pino's child (bindings serialised, a new prototype) showed in the web chat's CPU profile.
 * `bindings` is read when the child is made, so ids filled in meanwhile are included.
 */
export function lazyChild(parent: Logger, bindings: () => Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy({} as Logger, {
    get(_target, prop) {
      child ??= parent.child(bindings());
      const value = Reflect.get(child, prop, child);
      return typeof value === 'function' ? value.bind(child) : value;
    },
  });
}
