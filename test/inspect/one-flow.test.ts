import { createInspector, createWebSocketInspector } from '@statelyai/inspect';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { serveFetch } from '../../src/cli/serve-fetch.js';
import { createOAuthClient, memoryStorage } from '../../src/index.js';
import { euRouter } from '../../src/providers/index.js';
import { fileStorage } from '../../src/storage/file.js';
import { fakeEuRouter, rebaseProvider } from '../../src/testing/index.js';
import { quiet } from './settle.js';

/**
 * One login is one picture: started by one client (request, process) and completed by another,
 * it shows in @statelyai/inspect as one actor session, registered with the state it had then.
 */
const REDIRECT = 'http://localhost:3000/callback';

interface Message {
  type: string;
  sessionId: string;
  parentId?: string;
  rootId?: string;
  snapshot?: { value?: unknown; status?: string };
}

/** What the inspector shows of the flow's root session: registrations and the states it went through. */
function rootStory(messages: Message[]) {
  const roots = [...new Set(messages.filter((m) => m.sessionId.startsWith('authorizationCode:') && !m.sessionId.includes('/')).map((m) => m.sessionId))];
  const root = roots[0]!;
  const mine = messages.filter((m) => m.sessionId === root);
  return {
    roots,
    registrations: mine.filter((m) => m.type === '@xstate.actor').map((m) => m.snapshot?.value),
    states: mine.filter((m) => m.type === '@xstate.snapshot').map((m) => `${String(m.snapshot?.value)}${m.snapshot?.status === 'active' ? '' : `(${m.snapshot?.status})`}`),
    children: messages.filter((m) => m.type === '@xstate.actor' && m.sessionId.startsWith(`${root}/`)),
  };
}

describe('one flow, one picture', () => {
  it('started and completed by two clients sharing storage (two requests of one app): one actor session', async () => {
    const messages: Message[] = [];
    const inspector = createInspector({ send: (event: unknown) => void messages.push(JSON.parse(JSON.stringify(event)) as Message), start() {}, stop() {} });
    const fake = fakeEuRouter();
    const storage = memoryStorage();
    const make = () => createOAuthClient({ provider: euRouter, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage, inspect: inspector.inspect });
    const { url } = await make().startAuthorization();
    await make().completeAuthorization(await fake.approve(url));
    await quiet(messages);

    const story = rootStory(messages);
    expect(story.roots).toHaveLength(1);
    // Registered twice, each time with the state it had when it registered.
    expect(story.registrations).toEqual(['preparing', 'awaitingCallback']);
    expect(story.states).toEqual(['preparing', 'awaitingCallback', 'awaitingCallback', 'exchanging', 'storing', 'succeeded(done)']);
    // Children hang under the root, with session ids of their own.
    const childIds = story.children.map((m) => m.sessionId);
    expect(new Set(childIds).size).toBe(childIds.length);
    for (const child of story.children) {
      expect(child.parentId).toBe(story.roots[0]);
      expect(child.rootId).toBe(story.roots[0]);
    }
    expect(story.children.length).toBeGreaterThanOrEqual(3); // prepareAuthorization, exchangeCode, storeTokens
  });

  it('two flows at once stay two sessions', async () => {
    const messages: Message[] = [];
    const inspector = createInspector({ send: (event: unknown) => void messages.push(JSON.parse(JSON.stringify(event)) as Message), start() {}, stop() {} });
    const fake = fakeEuRouter();
    const client = createOAuthClient({ provider: euRouter, clientId: 'app', redirectUri: REDIRECT, http: fake.fetch, storage: memoryStorage(), inspect: inspector.inspect });
    const [a, b] = await Promise.all([client.startAuthorization(), client.startAuthorization()]);
    await Promise.all([client.completeAuthorization(await fake.approve(a.url)), client.completeAuthorization(await fake.approve(b.url))]);
    await quiet(messages);
    const roots = new Set(messages.filter((m) => m.sessionId.startsWith('authorizationCode:') && !m.sessionId.includes('/')).map((m) => m.sessionId));
    expect(roots.size).toBe(2);
  });

  describe('completed in another process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantflow-inspect-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the other process continues the same actor session', { timeout: 30_000 }, async () => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const messages: Message[] = [];
      let connected = () => {};
      const open = new Promise<void>((resolve) => (connected = resolve));
      server.on('connection', (socket) => {
        socket.on('message', (data) => void messages.push(JSON.parse(String(data)) as Message));
        connected();
      });
      const inspectorUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const fake = fakeEuRouter();
      const served = await serveFetch((request) => fake(request));
      try {
        const store = join(dir, 'store.json');
        const inspector = createWebSocketInspector({ url: inspectorUrl });
        await open;
        const client = createOAuthClient({
          provider: rebaseProvider(euRouter, served.origin),
          clientId: 'app',
          redirectUri: REDIRECT,
          storage: fileStorage(store),
          inspect: inspector.inspect,
        });
        const { url } = await client.startAuthorization();
        await quiet(messages);
        inspector.stop();
        const callback = await fake.approve(url);
        const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'complete-flow.ts')], {
          env: { ...process.env, ORIGIN: served.origin, STORE: store, INSPECTOR_URL: inspectorUrl, CALLBACK: callback },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        expect(code, err).toBe(0);
        expect(JSON.parse(out.trim())).toEqual({ ok: true });
        await quiet(messages);

        const story = rootStory(messages);
        expect(story.roots).toHaveLength(1);
        expect(story.registrations).toEqual(['preparing', 'awaitingCallback']);
        expect(story.states).toEqual(['preparing', 'awaitingCallback', 'awaitingCallback', 'exchanging', 'storing', 'succeeded(done)']);
      } finally {
        await served.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
