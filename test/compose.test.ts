import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * docker-compose.yml describes production, and nothing here runs it (no Docker engine): these
 * checks read it as text, for what a review found missing once.
 */
const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
const variables = (text: string) => new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
const published = [...compose.matchAll(/^\s*ports: \[([^\]]*)\]/gm)].map((m) => m[1]!.replace(/["\s]/g, ''));

describe('docker-compose.yml', () => {
  it('publishes the API only; Temporal gRPC and UI on 127.0.0.1', () => {
    // Temporal's frontend listens on 7833 in its container (deploy/temporal/config/cluster.yaml), 7233 on the host.
    expect(published.sort()).toEqual(['127.0.0.1:7233:7833', '127.0.0.1:8233:8080', '3000:3000']);
  });

  it('runs Temporal on the supported images with the repository\'s config, not the retired auto-setup', () => {
    expect(compose).not.toContain('temporalio/auto-setup');
    expect(compose).toContain('image: temporalio/server:1.29.2');
    expect(compose).toContain('- ./deploy/temporal/config:/etc/steadfast/config:ro');
    expect(compose).toContain('- ./deploy/temporal/dynamic-config.yaml:/etc/steadfast/dynamic-config.yaml:ro');
    expect(compose).toContain('TEMPORAL_ADDRESS: temporal:7833');
  });

  it('takes every credential from the environment, each listed in .env.example with no value', () => {
    for (const literal of [/PASSWORD: (?!\$\{)/, /PWD: (?!\$\{)/, /postgres:\/\/[^:]+:(?!\$\{)/, /redis:\/\/(?!:\$\{)/]) {
      expect(compose).not.toMatch(literal);
    }
    const needed = variables(compose);
    for (const name of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'ADMIN_API_KEY', 'SECRETS_ENCRYPTION_KEYS', 'SMS_AUTH_TOKEN']) {
      expect(needed).toContain(name);
    }
    const listed = new Map([...example.matchAll(/^#? ?([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect([...needed].filter((name) => !listed.has(name))).toEqual([]);
    for (const [name, value] of listed) if (name !== 'SMTP_FROM') expect([name, value]).toEqual([name, '']);
  });

  it('Redis requires its password, and the services connect with it', () => {
    expect(compose).toContain('"--requirepass", "${REDIS_PASSWORD:?set REDIS_PASSWORD}"');
    expect(compose).toContain('REDIS_URL: redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD}@redis:6379');
  });
});
