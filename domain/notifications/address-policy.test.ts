import { describe, expect, it } from 'vitest';
import {
  checkResolvedAddresses, checkWebhookUrl, classifyAddress, parseHostPortList, type WebhookAddressPolicy,
} from './address-policy.js';

const strict: WebhookAddressPolicy = { allowHttp: false, privateAllowlist: [] };

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'], ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'],
    ['10.0.0.1', 'private'], ['10.255.255.255', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'], ['fec0::1', 'private'],
    ['169.254.1.1', 'link_local'], ['fe80::1', 'link_local'], ['fe80::1%eth0', 'link_local'], ['febf::1', 'link_local'],
    ['fc00::1', 'unique_local'], ['fdff:ffff::1', 'unique_local'],
    ['100.64.0.1', 'shared'], ['100.127.255.255', 'shared'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'], ['240.0.0.1', 'reserved'], ['192.0.2.10', 'reserved'], ['198.18.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'], ['100::1', 'reserved'],
    ['169.254.169.254', 'metadata'], ['fd00:ec2::254', 'metadata'], ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
    // IPv6 forms of IPv4 addresses are judged by the IPv4 address they stand for.
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'], ['::127.0.0.1', 'loopback'], ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::192.168.0.1', 'private'], ['2002:7f00:1::', 'loopback'], ['2002:a9fe:a9fe::1', 'metadata'],
    ['64:ff9b:1::1', 'reserved'],
    ['not-an-ip', 'reserved'], ['example.com', 'reserved'],
  ])('%s is %s', (address, range) => {
    expect(classifyAddress(address)).toBe(range);
  });

  it.each([
    '8.8.8.8', '93.184.216.34', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0',
    '169.253.255.255', '11.0.0.1', '223.255.255.255', '2606:4700:4700::1111', '2001:4860:4860::8888',
    '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', 'fbff::1', 'fe7f::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeNull();
  });
});

describe('checkWebhookUrl', () => {
  it('wants https unless http is allowed', () => {
    expect(checkWebhookUrl('http://hooks.example.com/x', strict)).toEqual({ ok: false, reason: 'the URL must be https' });
    expect(checkWebhookUrl('http://hooks.example.com/x', { ...strict, allowHttp: true })).toMatchObject({ ok: true, port: 80 });
    expect(checkWebhookUrl('ftp://hooks.example.com/x', { ...strict, allowHttp: true }).ok).toBe(false);
    expect(checkWebhookUrl('https://Hooks.Example.COM./x', strict)).toEqual({
      ok: true, hostname: 'hooks.example.com', port: 443, allowlisted: false, literal: false,
    });
  });

  it.each([
    'https://127.0.0.1/x', 'https://10.0.0.1/x', 'https://[::1]/x', 'https://[::ffff:127.0.0.1]/x', 'https://169.254.169.254/latest',
    'https://[fd00:ec2::254]/', 'https://0x7f.1/x', 'https://2130706433/x', 'https://0.0.0.0:8080/', 'https://[fe80::1]/',
    'https://metadata.google.internal/computeMetadata/v1', 'https://METADATA.GOOGLE.INTERNAL./x', 'https://100.64.0.1/',
  ])('refuses %s', (url) => {
    expect(checkWebhookUrl(url, strict).ok).toBe(false);
  });

  it('the allowlist exempts exactly its host:port', () => {
    const policy = { allowHttp: true, privateAllowlist: parseHostPortList('127.0.0.1:4020, [::1]:4020,localhost:5000') };
    expect(checkWebhookUrl('http://127.0.0.1:4020/webhooks/x', policy)).toMatchObject({ ok: true, allowlisted: true, literal: true });
    expect(checkWebhookUrl('http://[::1]:4020/x', policy)).toMatchObject({ ok: true, allowlisted: true });
    expect(checkWebhookUrl('http://localhost:5000/x', policy)).toMatchObject({ ok: true, allowlisted: true, literal: false });
    expect(checkWebhookUrl('http://127.0.0.1:4021/x', policy).ok).toBe(false);
    expect(checkWebhookUrl('http://127.0.0.2:4020/x', policy).ok).toBe(false);
    expect(checkWebhookUrl('http://localhost:5001/x', policy)).toMatchObject({ ok: true, allowlisted: false });
    expect(checkWebhookUrl('http://[::ffff:127.0.0.1]:4020/x', policy).ok).toBe(false);
    // The default port counts: an entry for :443 covers https://host/.
    const https = { allowHttp: false, privateAllowlist: parseHostPortList('10.0.0.5:443') };
    expect(checkWebhookUrl('https://10.0.0.5/x', https)).toMatchObject({ ok: true, allowlisted: true });
    expect(checkWebhookUrl('https://10.0.0.5:8443/x', https).ok).toBe(false);
  });
});

describe('parseHostPortList', () => {
  it('normalises entries', () => {
    expect(parseHostPortList('')).toEqual([]);
    expect(parseHostPortList(' 127.0.0.1:4020 , Receiver.Local.:8080,[0:0::1]:1 ')).toEqual(['127.0.0.1:4020', 'receiver.local:8080', '[::1]:1']);
  });

  it.each(['127.0.0.1', 'host:', 'host:0', 'host:70000', 'http://host:80', '::1:80', 'a b:80', 'user@host:80'])('refuses %j', (entry) => {
    expect(() => parseHostPortList(entry)).toThrow(RangeError);
  });
});

describe('checkResolvedAddresses', () => {
  it('one refused address refuses the name', () => {
    expect(checkResolvedAddresses(['93.184.216.34', '2606:2800:220:1::1'])).toEqual({ ok: true });
    expect(checkResolvedAddresses(['93.184.216.34', '127.0.0.1'])).toEqual({
      ok: false, address: '127.0.0.1', reason: 'it resolves to a loopback address',
    });
    expect(checkResolvedAddresses(['::ffff:10.1.1.1'])).toMatchObject({ ok: false, reason: 'it resolves to a private address' });
  });
});
