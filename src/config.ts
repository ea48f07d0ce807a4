import { z } from 'zod';
import type { OperationLimits } from './limits.js';

// Every environment variable the server reads, parsed and validated here and nowhere else.
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_CHANNEL_PREFIX: z.string().max(100).default('tertulia:'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  TOKEN_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(24 * 30),
  SIGNIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(10),
  SIGNIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(100),
  SIGNUP_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(50),
  SIGNIN_LOCKOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  ACCOUNT_EMAILS_MAX_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(5),
  ACCOUNT_EMAILS_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(50),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  MAX_QUERY_COST: z.coerce.number().int().min(100).max(1_000_000).default(50_000),
  MAX_ALIASES: z.coerce.number().int().min(1).max(1000).default(30),
  MAX_DIRECTIVES: z.coerce.number().int().min(1).max(1000).default(20),
  MAX_QUERY_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5000),
  MAX_SUBSCRIPTION_COST: z.coerce.number().int().min(10).max(1_000_000).default(5000),
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  SUBSCRIBER_BUFFER_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
  WS_KEEPALIVE_MS: z.coerce.number().int().min(0).max(3_600_000).default(12_000),
  WS_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(50),
  SSE_MAX_SUBSCRIPTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(20),
  CORS_ORIGINS: z
    .string()
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isOrigin, 'must list exact origins such as https://console.example.com, comma-separated')))
    .optional(),
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  ACTIVITY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  LISTENING_JOB_INTERVAL_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  LISTENING_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  LISTENING_MAX_FEED_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(5 * 1024 * 1024),
  LISTENING_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false']).default('false'),
  MODERATION_CLAIM_TTL_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  SLA_JOB_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  SUPPORT_REASSIGN_AFTER_MINUTES: z.coerce.number().int().min(1).max(525_600).default(60),
  MAIL_FROM: z
    .string()
    .max(300)
    .regex(/^(?:[^<>]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/, 'must be an address, or a name and an address: Tertulia <support@example.com>')
    .default('Tertulia <no-reply@localhost>'),
  PUBLIC_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  HANDLE_CHANGE_COOLDOWN_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  HANDLE_REDIRECT_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  SMTP_URL: z
    .string()
    .url()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  MAIL_JOB_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  MAIL_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  NOTIFICATION_POLL_MS: z.coerce.number().int().min(0).max(3_600_000).default(2000),
  SIGNALS_POLL_MS: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  SIGNALS_NEWCOMER_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  SEGMENT_CHAMPION_MIN_ACCEPTED: z.coerce.number().int().min(1).max(10_000).default(1),
  SEGMENT_RISING_MIN_ACTIONS: z.coerce.number().int().min(1).max(100_000).default(5),
  SEGMENT_RISING_FACTOR: z.coerce.number().min(1).max(100).default(2),
  SEGMENT_NEW_MIN_ACTIVE_DAYS: z.coerce.number().int().min(1).max(30).default(3),
  SEGMENT_REFRESH_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  PEER_ROUTING_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  PEER_ROUTING_MAX_EXPERTS: z.coerce.number().int().min(1).max(50).default(3),
  PEER_ROUTING_MAX_ASKS_PER_DAY: z.coerce.number().int().min(1).max(1000).default(5),
  NOTIFICATION_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(1000),
  MAX_MENTIONS_PER_POST: z.coerce.number().int().min(0).max(100).default(10),
  TL0_MAX_MENTIONS: z.coerce.number().int().min(0).max(100).default(2),
  NOTIFICATION_DIGEST_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(300_000),
  APP_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  EMAIL_VERIFICATION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(48),
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().int().min(5).max(24 * 60).default(60),
  METRICS_ENABLED: z.enum(['true', 'false']).default('false'),
  // Long enough not to be guessed; printable, so it fits an Authorization header as is.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // OpenTelemetry's standard names (the exporter reads its other OTEL_* settings itself).
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().regex(/^https?:\/\//, 'must be an http:// or https:// URL (OTLP over HTTP)').optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().regex(/^https?:\/\//, 'must be an http:// or https:// URL (OTLP over HTTP)').optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).default('tertulia'),
});

/** `scheme://host[:port]` exactly as a browser sends it in an Origin header: no path, no trailing slash. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The names of every variable read here (tests clear them for child processes). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type Config = {
  port: number;
  host: string;
  /** Folder of the embedded database, or ':memory:' for a throwaway one. */
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Prefix of the Redis channels; instances serving one database must share it. */
  redisChannelPrefix: string;
  logLevel: (typeof LOG_LEVELS)[number];
  tokenTtlHours: number;
  /** The sign-in throttle: failures per account and per address, sign-ups per address, per window (src/modules/identity/throttle.ts). */
  signIn: {
    maxFailuresPerAccount: number;
    maxFailuresPerAddress: number;
    maxSignUpsPerAddress: number;
    /** Sign-ups, reset and verification requests for one email address, and reset and verification requests from one client address. */
    maxAccountEmailsPerEmail: number;
    maxAccountEmailsPerAddress: number;
    lockoutSeconds: number;
  };
  maxBodyBytes: number;
  /** Operation limits (see limits.ts): a subscription's selection runs again on every event, hence its own cost limit. */
  limits: OperationLimits;
  /** How far (seconds, either way) a signed webhook's timestamp may be from this server's clock. */
  webhookToleranceSeconds: number;
  shutdownTimeoutMs: number;
  databasePoolSize: number;
  /** Bytes that may wait for one live subscriber before it is ended as a slow consumer. */
  subscriberBufferBytes: number;
  /** How often graphql-ws sockets are pinged; one that missed the previous pong is cut. 0: never. */
  wsKeepAliveMs: number;
  /** Caps on live connections per client address (see transport-guards.ts). */
  transport: {
    wsMaxConnectionsPerAddress: number;
    /** Operations in flight on one graphql-ws socket (subscriptions, and queries while they run). */
    wsMaxSubscriptionsPerConnection: number;
    /** Subscriptions over HTTP (SSE or multipart streams) open at once per client address. */
    sseMaxSubscriptionsPerAddress: number;
    /** Cross-origin browser pages allowed to call the API (CORS) and open WebSockets; empty: none. */
    corsOrigins: string[];
    /** Reverse proxies in front whose X-Forwarded-For entry is trusted as the client address; 0: none. */
    trustProxy: number;
  };
  /** Activity older than this is pruned; cursors from before it can no longer resume. */
  activityRetentionDays: number;
  /** Feed polling and alert evaluation: how often, and the limits of one feed fetch. */
  listening: { jobIntervalMs: number; fetchTimeoutMs: number; maxFeedBytes: number; allowPrivateNetworks: boolean };
  /** How long a moderator's claim on a queue item lasts before others may take it. */
  moderationClaimTtlMinutes: number;
  /** How often the SLA job looks for clocks at risk or breached; 0 turns it off on this instance. */
  slaJobIntervalMs: number;
  /** A case whose assignee has not answered this long goes to the next on-duty agent (auto-assigning departments). */
  supportReassignAfterMinutes: number;
  /** Handles (members/handles.ts): days between two changes of one's handle, and how long an old one keeps pointing to its owner. */
  handles: { changeCooldownDays: number; redirectDays: number };
  /** Email: the From header, this API's public base URL for links in emails, and delivery. */
  mail: {
    from: string;
    /** PUBLIC_URL; unset: http://HOST:PORT with the port actually listened on (app.ts). */
    publicUrl: string | undefined;
    /** Where the mail job delivers; unset: it logs each message instead (status LOGGED). */
    smtpUrl: string | undefined;
    /** How often the mail job looks for due messages besides being woken by new ones; 0: not on this instance. */
    jobIntervalMs: number;
    /** Attempts before a message is DEAD. */
    maxAttempts: number;
    /** The first retry's delay; each next one doubles (capped at an hour), with jitter. */
    retryBaseMs: number;
  };
  /**
   * Notification fan-out: how often each instance reads the activity log for events it was not
   * woken for (another instance's, without Redis; 0: only when woken), and how many recipients
   * one transaction writes.
   */
  signals: {
    /** How often the signals job reads the log when not woken; 0: never on this instance. */
    pollMs: number;
    /** A thread author who joined less than this many days before a reply is a newcomer. */
    newcomerDays: number;
  };
  /** Thresholds of the members(segment:) definitions (participation/segments.ts). */
  segments: { championMinAccepted: number; risingMinActions: number; risingFactor: number; newMinActiveDays: number; newcomerDays: number; refreshSeconds: number };
  /** The peer-routing job (participation/routing.ts): interval (0: not on this instance), experts per thread, asks per expert per 24 h. */
  peerRouting: { intervalMs: number; maxExperts: number; maxAsksPerDay: number };
  notifications: {
    pollMs: number;
    batchSize: number;
    /** How often the digest job looks for hourly and daily digests that are due; 0: not on this instance. */
    digestIntervalMs: number;
  };
  /**
   * At most this many distinct @handles per thread or post notify (MAX_MENTIONS_PER_POST); from a
   * TL0 (new) writer, at most tl0MaxPerPost (TL0_MAX_MENTIONS).
   */
  mentions: { maxPerPost: number; tl0MaxPerPost: number };
  /** Account emails: the front-end base URL of the links in them, and how long their tokens last. */
  account: { appUrl: string | undefined; verificationTtlHours: number; resetTtlMinutes: number };
  /**
   * Prometheus metrics at GET /metrics (src/observability/metrics.ts). Off unless METRICS_ENABLED
   * is true or a token or port is set; with a token, scrapes must send it as a bearer token; with
   * a port, /metrics is served there only (on HOST), not on the API's port.
   */
  metrics: { enabled: boolean; token: string | undefined; port: number | undefined };
  /** OpenTelemetry traces (observability/tracing.ts): the OTLP/HTTP URL spans go to; unset: no tracing. */
  tracing: { tracesUrl: string | undefined; serviceName: string };
};

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => (env[key] ? [[key, env[key]]] : [])),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisChannelPrefix: e.REDIS_CHANNEL_PREFIX,
    logLevel: e.LOG_LEVEL,
    tokenTtlHours: e.TOKEN_TTL_HOURS,
    signIn: {
      maxFailuresPerAccount: e.SIGNIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerAddress: e.SIGNIN_MAX_FAILURES_PER_ADDRESS,
      maxSignUpsPerAddress: e.SIGNUP_MAX_PER_ADDRESS,
      maxAccountEmailsPerEmail: e.ACCOUNT_EMAILS_MAX_PER_EMAIL,
      maxAccountEmailsPerAddress: e.ACCOUNT_EMAILS_MAX_PER_ADDRESS,
      lockoutSeconds: e.SIGNIN_LOCKOUT_SECONDS,
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    limits: {
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxSubscriptionCost: e.MAX_SUBSCRIPTION_COST,
      maxAliases: e.MAX_ALIASES,
      maxDirectives: e.MAX_DIRECTIVES,
      maxTokens: e.MAX_QUERY_TOKENS,
    },
    webhookToleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    subscriberBufferBytes: e.SUBSCRIBER_BUFFER_BYTES,
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    transport: {
      wsMaxConnectionsPerAddress: e.WS_MAX_CONNECTIONS_PER_ADDRESS,
      wsMaxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      sseMaxSubscriptionsPerAddress: e.SSE_MAX_SUBSCRIPTIONS_PER_ADDRESS,
      corsOrigins: e.CORS_ORIGINS ?? [],
      trustProxy: e.TRUST_PROXY,
    },
    activityRetentionDays: e.ACTIVITY_RETENTION_DAYS,
    listening: {
      jobIntervalMs: e.LISTENING_JOB_INTERVAL_MS,
      fetchTimeoutMs: e.LISTENING_FETCH_TIMEOUT_MS,
      maxFeedBytes: e.LISTENING_MAX_FEED_BYTES,
      allowPrivateNetworks: e.LISTENING_ALLOW_PRIVATE_NETWORKS === 'true',
    },
    moderationClaimTtlMinutes: e.MODERATION_CLAIM_TTL_MINUTES,
    slaJobIntervalMs: e.SLA_JOB_INTERVAL_MS,
    mail: {
      from: e.MAIL_FROM,
      publicUrl: e.PUBLIC_URL,
      smtpUrl: e.SMTP_URL,
      jobIntervalMs: e.MAIL_JOB_INTERVAL_MS,
      maxAttempts: e.MAIL_MAX_ATTEMPTS,
      retryBaseMs: e.MAIL_RETRY_BASE_MS,
    },
    account: {
      // Links a person opens in a browser go to the front end; without one, to this API's own URL
      // (account-emails.ts reads it from the mail settings, which know the port listened on).
      appUrl: e.APP_URL,
      verificationTtlHours: e.EMAIL_VERIFICATION_TTL_HOURS,
      resetTtlMinutes: e.PASSWORD_RESET_TTL_MINUTES,
    },
    supportReassignAfterMinutes: e.SUPPORT_REASSIGN_AFTER_MINUTES,
    handles: { changeCooldownDays: e.HANDLE_CHANGE_COOLDOWN_DAYS, redirectDays: e.HANDLE_REDIRECT_DAYS },
    notifications: { pollMs: e.NOTIFICATION_POLL_MS, batchSize: e.NOTIFICATION_BATCH_SIZE, digestIntervalMs: e.NOTIFICATION_DIGEST_INTERVAL_MS },
    mentions: { maxPerPost: e.MAX_MENTIONS_PER_POST, tl0MaxPerPost: e.TL0_MAX_MENTIONS },
    metrics: {
      enabled: e.METRICS_ENABLED === 'true' || e.METRICS_TOKEN !== undefined || e.METRICS_PORT !== undefined,
      token: e.METRICS_TOKEN,
      port: e.METRICS_PORT,
    },
    signals: { pollMs: e.SIGNALS_POLL_MS, newcomerDays: e.SIGNALS_NEWCOMER_DAYS },
    tracing: { tracesUrl: otlpTracesUrl(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.OTEL_EXPORTER_OTLP_ENDPOINT), serviceName: e.OTEL_SERVICE_NAME },
    segments: {
      championMinAccepted: e.SEGMENT_CHAMPION_MIN_ACCEPTED,
      risingMinActions: e.SEGMENT_RISING_MIN_ACTIONS,
      risingFactor: e.SEGMENT_RISING_FACTOR,
      newMinActiveDays: e.SEGMENT_NEW_MIN_ACTIVE_DAYS,
      newcomerDays: e.SIGNALS_NEWCOMER_DAYS,
      refreshSeconds: e.SEGMENT_REFRESH_SECONDS,
    },
    peerRouting: { intervalMs: e.PEER_ROUTING_INTERVAL_MS, maxExperts: e.PEER_ROUTING_MAX_EXPERTS, maxAsksPerDay: e.PEER_ROUTING_MAX_ASKS_PER_DAY },
  };
}

/**
 * As the OTLP exporter specification says: the traces variable is the URL as it is; the general
 * one is a base URL that gets `v1/traces` appended.
 */
function otlpTracesUrl(traces: string | undefined, base: string | undefined): string | undefined {
  if (traces) return traces;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
