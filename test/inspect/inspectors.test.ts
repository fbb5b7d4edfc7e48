import { createInspector, createWebSocketInspector } from '@statelyai/inspect';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcScenarios } from './oidc-scenarios.js';
import { fakeScenarios, type Scenario } from './scenarios.js';
import { SecretRecorder } from './secret-recorder.js';
import { quiet } from './settle.js';

/**
 * Every grant, with every built-in provider's fake and with oidc-provider, success and error
 * paths, watched by @statelyai/inspect's own inspectors: createInspector with a custom adapter,
 * and createWebSocketInspector to a ws server on 127.0.0.1. Every message is searched, as JSON,
 * for every secret value of its run (read off the wire by SecretRecorder).
 */

interface Channel {
  name: string;
  /** Runs one scenario with this inspector; resolves with the messages it carried, as JSON. */
  watch(scenario: Scenario, recorder: SecretRecorder): Promise<{ outcome: string; messages: string[] }>;
  close(): Promise<void>;
}

function adapterChannel(): Channel {
  return {
    name: 'createInspector (custom adapter)',
    async watch(scenario, recorder) {
      const messages: string[] = [];
      const inspector = createInspector({ send: (event: unknown) => void messages.push(JSON.stringify(event)), start() {}, stop() {} });
      const outcome = await scenario.run({ inspect: inspector.inspect, recorder });
      await quiet(messages);
      return { outcome, messages };
    },
    close: async () => {},
  };
}

async function webSocketChannel(): Promise<Channel> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  let sink: string[] = [];
  let connected = () => {};
  server.on('connection', (socket) => {
    socket.on('message', (data) => sink.push(String(data)));
    connected();
  });
  return {
    name: 'createWebSocketInspector (ws on 127.0.0.1)',
    async watch(scenario, recorder) {
      const messages: string[] = [];
      sink = messages;
      const open = new Promise<void>((resolve) => (connected = resolve));
      const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
      await open;
      const outcome = await scenario.run({ inspect: inspector.inspect, recorder });
      await quiet(messages);
      inspector.stop();
      return { outcome, messages };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let oidc: Awaited<ReturnType<typeof startOidcScenarios>>;
let channels: Channel[];

beforeAll(async () => {
  oidc = await startOidcScenarios();
  channels = [adapterChannel(), await webSocketChannel()];
});

afterAll(async () => {
  for (const channel of channels ?? []) await channel.close();
  await oidc?.stop();
});

describe('@statelyai/inspect inspectors never see a secret', () => {
  it('every grant × every provider fake and oidc-provider × both Node inspectors: 0 secret values in any message', { timeout: 120_000 }, async () => {
    const scenarios = [...fakeScenarios, ...oidc.scenarios];
    let messageCount = 0;
    let secretCount = 0;
    const leaks: string[] = [];
    const outcomes = new Map<string, string>();
    const all: string[] = [];
    for (const channel of channels) {
      for (const scenario of scenarios) {
        const recorder = new SecretRecorder();
        const { outcome, messages } = await channel.watch(scenario, recorder);
        outcomes.set(scenario.name, outcome);
        expect(messages.length, `${channel.name}: ${scenario.name} sent no message`).toBeGreaterThan(5);
        messageCount += messages.length;
        secretCount += recorder.values.size;
        const text = messages.join('\n');
        for (const value of recorder.leaksIn(text)) leaks.push(`${channel.name} / ${scenario.name}: ${value.slice(0, 12)}…`);
        all.push(text);
      }
    }
    console.log(`inspection: ${scenarios.length} scenarios × ${channels.length} inspectors, ${messageCount} messages searched for ${secretCount} secret values: ${leaks.length} hits`);
    expect(leaks).toEqual([]);
    expect(secretCount).toBeGreaterThan(scenarios.length * 2);

    // The runs did what their names say: successes and the expected failures.
    const expectOutcome = (fragment: string, expected: string) => {
      const matching = [...outcomes].filter(([name]) => name.includes(fragment));
      expect(matching.length, fragment).toBeGreaterThan(0);
      for (const [name, outcome] of matching) expect(outcome, name).toBe(expected);
    };
    expectOutcome('code flow, approved', 'succeeded');
    expectOutcome('code flow, denied', 'access_denied');
    expectOutcome('callback replayed', 'flow_not_found');
    expectOutcome('refresh after login', 'succeeded');
    expectOutcome('refresh refused', 'reauthorization_required');
    expectOutcome('rotated token refused', 'reauthorization_required');
    expectOutcome('client credentials, private_key_jwt', 'succeeded');
    expectOutcome('assertion refused', 'invalid_client');
    expectOutcome('wrong secret', 'invalid_client');
    expectOutcome('consent denied', 'access_denied');

    // What must stay visible does: states, event types, error codes, endpoints, scope rules; nothing shown as circular.
    const text = all.join('\n');
    for (const state of ['preparing', 'awaitingCallback', 'exchanging', 'storing', 'succeeded', 'refreshing', 'signing', 'requesting', 'failed']) {
      expect(text, state).toContain(`"${state}"`);
    }
    for (const visible of ['"callback"', '"xstate.done.actor.exchangeCode"', '"code":"access_denied"', '"code":"invalid_client"', '"code":"reauthorization_required"', 'https://api.poe.com/token', '"forbidden":["service:*"]', '"authorization":{"url"']) {
      expect(text, visible).toContain(visible);
    }
    expect(text).not.toMatch(/\[circular\]/i);
    expect(text).toContain('[redacted]');
  });

  it('revealSecrets: true shows them, for local debugging', async () => {
    const messages: string[] = [];
    const inspector = createInspector({ send: (event: unknown) => void messages.push(JSON.stringify(event)), start() {}, stop() {} });
    const recorder = new SecretRecorder();
    const scenario = fakeScenarios.find((s) => s.name === 'eurouter: code flow, approved (facade)')!;
    expect(await scenario.run({ inspect: inspector.inspect, recorder, revealSecrets: true })).toBe('succeeded');
    await quiet(messages);
    const shown = recorder.leaksIn(messages.join('\n'));
    // The code, the verifier and the key all show.
    expect(shown.length).toBeGreaterThanOrEqual(3);
    expect(shown.some((value) => value.startsWith('eur_'))).toBe(true);
  });
});
