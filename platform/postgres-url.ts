/**
 * PostgreSQL URLs the way libpq reads them, including a list of hosts:
 * `postgres://user[:password]@h1[:p1][,h2[:p2]…][/database][?target_session_attrs=read-write&…]`.
 * WHATWG `URL` refuses a host list with ports and pg's pg-connection-string mangles it, so the
 * config schema checks DATABASE_URL with this parser and store/multi-host.ts connects with it.
 * Pure: no I/O.
 *
 * @example
 * const url = parsePostgresUrl('postgres://postgres@127.0.0.1:5432,127.0.0.1:5433/steadfast?target_session_attrs=read-write');
 * url.hosts; // [{ host: '127.0.0.1', port: 5432 }, { host: '127.0.0.1', port: 5433 }]
 * singleHostUrl(url, url.hosts[1]!); // 'postgres://postgres@127.0.0.1:5433/steadfast'
 */

/** libpq's `target_session_attrs`: which kind of server a session needs. */
export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number];

export interface HostPort {
  host: string;
  port: number;
}

export interface PostgresUrl {
  scheme: 'postgres' | 'postgresql';
  hosts: HostPort[];
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
  /** `any` when the URL does not say (libpq's default). */
  targetSessionAttrs: TargetSessionAttrs;
  /** The other query parameters in their order, handed to pg unchanged (sslmode, application_name, …). */
  params: [string, string][];
}

export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
  readonly code = 'invalid_database_url';
}

const DEFAULT_PORT = 5432;
const HOSTS_MAX = 16;
const URL_PATTERN = /^(postgres|postgresql):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;
/** Parameters that would contradict the host list; libpq's `hostaddr`, and `load_balance_hosts`, which we do not implement. */
const REFUSED_PARAMS = ['host', 'hostaddr', 'port', 'load_balance_hosts'];

/** The authority (`user:pw@h1:p1,h2:p2`) split into its user info and its host list, or null when not a postgres URL. */
function splitAuthority(url: string): { userInfo: string | null; hostList: string } | null {
  const match = URL_PATTERN.exec(url);
  if (!match) return null;
  const authority = match[2]!;
  const at = authority.lastIndexOf('@');
  return at < 0 ? { userInfo: null, hostList: authority } : { userInfo: authority.slice(0, at), hostList: authority.slice(at + 1) };
}

/** Whether the URL names several hosts (`h1:p1,h2:p2`); everything else keeps today's single-host path. */
export function isMultiHostUrl(url: string): boolean {
  return splitAuthority(url)?.hostList.includes(',') ?? false;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DatabaseUrlError(`the ${what} is not valid percent-encoding: ${part}`);
  }
}

function parseHost(text: string): HostPort {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(.*))?$/.exec(text);
  const [host, portText] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : text.includes(':') ? [text.slice(0, text.lastIndexOf(':')), text.slice(text.lastIndexOf(':') + 1)] : [text, undefined];
  if (host === '') throw new DatabaseUrlError(`a host in the list is empty: "${text}" (write host[:port] for each)`);
  if (!bracketed && host.includes(':')) throw new DatabaseUrlError(`an IPv6 address needs brackets: [${host}]`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) throw new DatabaseUrlError(`"${portText}" is not a port (1-65535) in "${text}"`);
  }
  return { host: decode(host, 'host'), port };
}

/** Parses a one- or several-host PostgreSQL URL; throws DatabaseUrlError saying what is wrong. */
export function parsePostgresUrl(url: string): PostgresUrl {
  const match = URL_PATTERN.exec(url);
  const parts = splitAuthority(url);
  if (!match || !parts) throw new DatabaseUrlError('expected postgres://[user[:password]@]host[:port][,host[:port]…][/database][?parameters]');
  const hostTexts = parts.hostList.split(',');
  if (hostTexts.length > HOSTS_MAX) throw new DatabaseUrlError(`at most ${HOSTS_MAX} hosts, got ${hostTexts.length}`);
  const hosts = hostTexts.map(parseHost);

  let user: string | undefined;
  let password: string | undefined;
  if (parts.userInfo !== null) {
    const colon = parts.userInfo.indexOf(':');
    user = decode(colon < 0 ? parts.userInfo : parts.userInfo.slice(0, colon), 'user') || undefined;
    password = colon < 0 ? undefined : decode(parts.userInfo.slice(colon + 1), 'password');
  }
  const path = match[3]?.slice(1) ?? '';
  const database = path === '' ? undefined : decode(path, 'database name');

  let targetSessionAttrs: TargetSessionAttrs = 'any';
  const params: [string, string][] = [];
  for (const [name, value] of new URLSearchParams(match[4] ?? '')) {
    if (name === 'target_session_attrs') {
      if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(value)) {
        throw new DatabaseUrlError(`target_session_attrs must be one of ${TARGET_SESSION_ATTRS.join(', ')}, got "${value}"`);
      }
      targetSessionAttrs = value as TargetSessionAttrs;
    } else if (REFUSED_PARAMS.includes(name) && hosts.length > 1) {
      throw new DatabaseUrlError(`the parameter ${name} is not supported with several hosts: list them as host:port before the path`);
    } else {
      params.push([name, value]);
    }
  }
  return { scheme: match[1] as PostgresUrl['scheme'], hosts, user, password, database, targetSessionAttrs, params };
}

function formatHost({ host, port }: HostPort): string {
  const name = host.includes(':') ? `[${host}]` : encodeURIComponent(host);
  return `${name}:${port}`;
}

/** The URL back as text (the inverse of parsePostgresUrl, up to encoding and default ports). */
export function formatPostgresUrl(url: PostgresUrl): string {
  const userInfo = url.user === undefined ? ''
    : `${encodeURIComponent(url.user)}${url.password === undefined ? '' : `:${encodeURIComponent(url.password)}`}@`;
  const params = new URLSearchParams(url.params);
  if (url.targetSessionAttrs !== 'any') params.set('target_session_attrs', url.targetSessionAttrs);
  const query = params.size > 0 ? `?${params.toString()}` : '';
  const database = url.database === undefined ? '' : encodeURIComponent(url.database);
  return `${url.scheme}://${userInfo}${url.hosts.map(formatHost).join(',')}/${database}${query}`;
}

/** A classic one-host URL for `host` with everything else of `url` (without target_session_attrs, which pg ignores). */
export function singleHostUrl(url: PostgresUrl, host: HostPort): string {
  return formatPostgresUrl({ ...url, hosts: [host], targetSessionAttrs: 'any' });
}

/** The same servers, credentials and parameters, another database; one host or several. */
export function withDatabaseName(databaseUrl: string, name: string): string {
  if (isMultiHostUrl(databaseUrl)) return formatPostgresUrl({ ...parsePostgresUrl(databaseUrl), database: name });
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The database a URL names (empty when it names none: the server then uses the user's name). */
export function databaseNameOf(databaseUrl: string): string {
  if (isMultiHostUrl(databaseUrl)) return parsePostgresUrl(databaseUrl).database ?? '';
  return decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
}

/** Why a several-host URL is unusable, or null when it is fine (for the config schema). */
export function multiHostUrlProblem(databaseUrl: string): string | null {
  try {
    parsePostgresUrl(databaseUrl);
    return null;
  } catch (err) {
    if (err instanceof DatabaseUrlError) return `invalid multi-host PostgreSQL URL: ${err.message}`;
    throw err;
  }
}
