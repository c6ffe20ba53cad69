import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import {
  databaseNameOf, DatabaseUrlError, formatPostgresUrl, isMultiHostUrl, parsePostgresUrl, singleHostUrl, withDatabaseName,
} from './postgres-url.js';

const PAIR = 'postgres://postgres@127.0.0.1:5442,127.0.0.1:5443/steadfast?target_session_attrs=read-write';

describe('parsePostgresUrl', () => {
  it.each([
    [PAIR, {
      hosts: [{ host: '127.0.0.1', port: 5442 }, { host: '127.0.0.1', port: 5443 }],
      user: 'postgres', password: undefined, database: 'steadfast', targetSessionAttrs: 'read-write', params: [],
    }],
    ['postgresql://u%40x:p%3Aw%2Fd@db1,db2:6000/my%20db?sslmode=disable&application_name=a&target_session_attrs=primary', {
      scheme: 'postgresql', hosts: [{ host: 'db1', port: 5432 }, { host: 'db2', port: 6000 }],
      user: 'u@x', password: 'p:w/d', database: 'my db', targetSessionAttrs: 'primary',
      params: [['sslmode', 'disable'], ['application_name', 'a']],
    }],
    ['postgres://[::1]:5432,[fe80::1]/d?target_session_attrs=standby', {
      hosts: [{ host: '::1', port: 5432 }, { host: 'fe80::1', port: 5432 }], user: undefined, database: 'd', targetSessionAttrs: 'standby',
    }],
    ['postgres://u:@h1,h2', { user: 'u', password: '', database: undefined, targetSessionAttrs: 'any' }],
    ['postgres://u@h1:1,h2:65535/d?target_session_attrs=prefer-standby', { hosts: [{ host: 'h1', port: 1 }, { host: 'h2', port: 65_535 }], targetSessionAttrs: 'prefer-standby' }],
    ['postgres://u@h/d?target_session_attrs=read-only', { hosts: [{ host: 'h', port: 5432 }], targetSessionAttrs: 'read-only' }],
  ])('%s', (url, expected) => {
    expect(parsePostgresUrl(url)).toMatchObject(expected);
  });

  it.each([
    ['mysql://u@h1,h2/d', /expected postgres:\/\//],
    ['postgres://u@h1,,h2/d', /a host in the list is empty/],
    ['postgres://u@h1:0,h2/d', /"0" is not a port/],
    ['postgres://u@h1:70000,h2/d', /"70000" is not a port/],
    ['postgres://u@h1:x,h2/d', /"x" is not a port/],
    ['postgres://u@::1,h2/d', /IPv6 address needs brackets/],
    ['postgres://u@h1,h2/d?target_session_attrs=writable', /target_session_attrs must be one of any, read-write/],
    ['postgres://u@h1,h2/d?port=5', /parameter port is not supported with several hosts/],
    ['postgres://u%ZZ@h1,h2/d', /the user is not valid percent-encoding/],
  ])('refuses %s', (url, message) => {
    expect(() => parsePostgresUrl(url)).toThrow(DatabaseUrlError);
    expect(() => parsePostgresUrl(url)).toThrow(message);
  });

  it('formats back to an equivalent URL, and one host of it as a classic URL pg understands', () => {
    const url = parsePostgresUrl('postgresql://u%40x:p%3Aw@db1,[::1]:6000/my%20db?sslmode=disable&target_session_attrs=read-write');
    expect(parsePostgresUrl(formatPostgresUrl(url))).toEqual(url);
    const one = singleHostUrl(url, url.hosts[1]!);
    expect(one).toBe('postgresql://u%40x:p%3Aw@[::1]:6000/my%20db?sslmode=disable');
    const whatwg = new URL(one);
    expect([whatwg.hostname, whatwg.port, whatwg.searchParams.has('target_session_attrs')]).toEqual(['[::1]', '6000', false]);
  });
});

describe('one host or several', () => {
  it('tells a host list from one host (a comma in the password is not a host list)', () => {
    expect(isMultiHostUrl(PAIR)).toBe(true);
    expect(isMultiHostUrl('postgres://postgres@127.0.0.1:5432/steadfast')).toBe(false);
    expect(isMultiHostUrl('postgres://u:a,b@127.0.0.1:5432/steadfast')).toBe(false);
    expect(isMultiHostUrl('redis://h1,h2')).toBe(false);
  });

  it('swaps the database of either kind, leaving a one-host URL to WHATWG URL as before', () => {
    expect(withDatabaseName(PAIR, 'other')).toBe('postgres://postgres@127.0.0.1:5442,127.0.0.1:5443/other?target_session_attrs=read-write');
    expect(withDatabaseName('postgres://postgres@127.0.0.1:5432/steadfast?sslmode=disable', 'other'))
      .toBe('postgres://postgres@127.0.0.1:5432/other?sslmode=disable');
    expect(databaseNameOf(PAIR)).toBe('steadfast');
    expect(databaseNameOf('postgres://postgres@127.0.0.1:5432/my%20db')).toBe('my db');
  });
});

describe('DATABASE_URL in the config', () => {
  it('takes a primary/standby host list, which WHATWG URL refuses', () => {
    expect(() => new URL(PAIR)).toThrow();
    expect(loadConfig({ DATABASE_URL: PAIR }).DATABASE_URL).toBe(PAIR);
    expect(loadConfig({}).DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/steadfast');
  });

  it('refuses a broken host list or a broken URL, naming the variable and the fault', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h1:99999,h2/d' })).toThrow(/DATABASE_URL: invalid multi-host PostgreSQL URL: "99999" is not a port/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL: Invalid URL/);
  });
});
