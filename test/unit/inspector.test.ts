import { createActor, fromPromise, setup, toPromise, type InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { redactCallbackUrl } from '../../src/inspect/callback-url.js';
import { redactingInspector } from '../../src/inspect/inspector.js';
import { revealDeep } from '../../src/inspect/reveal.js';
import { REDACTED, secret } from '../../src/secret.js';
import { sealTokenSet } from '../../src/tokens.js';

describe('redactCallbackUrl', () => {
  it('keeps the public parameters, redacts every other value', () => {
    expect(redactCallbackUrl('https://app.example/cb?code=abc&state=xyz&iss=https%3A%2F%2Fas')).toBe(`https://app.example/cb?code=${REDACTED}&state=xyz&iss=https%3A%2F%2Fas`);
    expect(redactCallbackUrl('https://app.example/cb?error=access_denied&error_description=no&error_uri=u&state=s')).toBe('https://app.example/cb?error=access_denied&error_description=no&error_uri=u&state=s');
    expect(redactCallbackUrl('https://app.example/cb?session_token=t&code=c')).toBe(`https://app.example/cb?session_token=${REDACTED}&code=${REDACTED}`);
  });

  it('covers the fragment, a bare query string, an encoded name, a flag without value', () => {
    expect(redactCallbackUrl('https://app.example/cb#code=abc&state=s')).toBe(`https://app.example/cb#code=${REDACTED}&state=s`);
    expect(redactCallbackUrl('https://app.example/cb?state=s#code=abc')).toBe(`https://app.example/cb?state=s#code=${REDACTED}`);
    expect(redactCallbackUrl('code=abc&state=s')).toBe(`code=${REDACTED}&state=s`);
    expect(redactCallbackUrl('?code=abc&state=s')).toBe(`?code=${REDACTED}&state=s`);
    expect(redactCallbackUrl('https://app.example/cb?st%61te=s&c%6Fde=abc')).toBe(`https://app.example/cb?st%61te=s&c%6Fde=${REDACTED}`);
    expect(redactCallbackUrl('https://app.example/cb?flag&code=abc')).toBe(`https://app.example/cb?flag&code=${REDACTED}`);
    expect(redactCallbackUrl('https://app.example/cb?%E0%A4%A=abc')).toBe(`https://app.example/cb?%E0%A4%A=${REDACTED}`);
    expect(redactCallbackUrl('https://app.example/cb')).toBe('https://app.example/cb');
  });
});

describe('revealDeep', () => {
  it('opens secrets and sealed sets, keeps sharing and cycles, keeps class instances', () => {
    const tokens = sealTokenSet({ accessToken: 'at', tokenType: 'Bearer', extra: {} });
    const shared = { s: secret('v') };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const date = new Date(0);
    const out = revealDeep({ a: shared, b: shared, list: [secret('w'), tokens, tokens], cyclic, date, n: 1, nil: null, f: Math.max }) as Record<string, any>;
    expect(out.a).toEqual({ s: 'v' });
    expect(out.a).toBe(out.b);
    expect(out.list[0]).toBe('w');
    expect(out.list[1]).toEqual({ accessToken: 'at', tokenType: 'Bearer', extra: {} });
    expect(out.list[1]).toBe(out.list[2]);
    expect(out.cyclic.self).toBe(out.cyclic);
    expect(out.date).toBe(date);
    expect(out.f).toBe(Math.max);
    expect(out.n).toBe(1);
    expect(out.nil).toBeNull();
    expect(Object.getPrototypeOf(revealDeep(Object.create(null)))).toBe(Object.prototype);
  });
});

const machine = setup({
  types: { context: {} as { key: ReturnType<typeof secret> }, events: {} as { type: 'callback'; url: string | ReturnType<typeof secret> } | { type: 'go' } },
  actors: { work: fromPromise(async () => sealTokenSet({ accessToken: 'the-access-token', tokenType: 'Bearer', extra: {} })) },
}).createMachine({
  id: 'demo',
  context: { key: secret('the-context-secret') },
  initial: 'idle',
  states: {
    idle: { on: { callback: 'working', go: 'working' } },
    working: { invoke: { src: 'work', id: 'work', onDone: 'done' } },
    done: { type: 'final' },
  },
});

function run(options: Parameters<typeof redactingInspector>[1], send: (actor: ReturnType<typeof createActor<typeof machine>>) => void) {
  const events: InspectionEvent[] = [];
  const handle = redactingInspector((event) => events.push(event), options);
  const actor = createActor(machine, { inspect: handle }).start();
  send(actor);
  return { events, handle, done: toPromise(actor) };
}

describe('redactingInspector', () => {
  it('hands over views: a stable session id per flow, children under the root, the id of the machine', async () => {
    const { events, done } = run({ flowId: 'f1' }, (actor) => actor.send({ type: 'go' }));
    await done;
    const sessions = new Set(events.map((e) => e.actorRef.sessionId));
    expect(sessions.has('demo:f1')).toBe(true);
    const child = [...sessions].find((s) => s !== 'demo:f1')!;
    expect(child).toMatch(/^demo:f1\/[0-9a-f]{6}:x:\d+$/);
    for (const event of events) expect(event.rootId).toBe('demo:f1');
    const root = events.find((e) => e.actorRef.sessionId === 'demo:f1')!.actorRef;
    expect((root as unknown as { id: string }).id).toBe('demo:f1');
    const childRef = events.find((e) => e.actorRef.sessionId === child)!.actorRef as unknown as { id: string; _parent: { sessionId: string } };
    expect(childRef.id).toBe('work');
    expect(childRef._parent.sessionId).toBe('demo:f1');
  });

  it('a registration shows the snapshot at registration, later reads show the live one', async () => {
    const { events, done } = run({}, (actor) => actor.send({ type: 'go' }));
    await done;
    const registration = events.find((e) => e.type === '@xstate.actor' && e.actorRef.sessionId.startsWith('demo:') && !e.actorRef.sessionId.includes('/'))!;
    expect((registration.actorRef.getSnapshot() as { value: string }).value).toBe('idle');
    const later = events.filter((e) => e.type === '@xstate.snapshot').at(-1)!;
    expect((later.actorRef.getSnapshot() as { value: string; status: string }).status).toBe('done');
  });

  it('a callback URL sent as a plain string or as a Secret shows only its public parameters', async () => {
    for (const url of ['https://app/cb?code=the-code-value&state=s1', secret('https://app/cb?code=the-code-value&state=s1')]) {
      const { events, done } = run({}, (actor) => actor.send({ type: 'callback', url }));
      await done;
      const text = JSON.stringify(events.filter((e) => e.type !== '@xstate.actor').map((e) => ('event' in e ? e.event : null)));
      expect(text).not.toContain('the-code-value');
      expect(text).toContain(`https://app/cb?code=${REDACTED}&state=s1`);
    }
  });

  it('revealSecrets shows every secret: context, outputs, the callback URL', async () => {
    const { events, done } = run({ revealSecrets: true }, (actor) => actor.send({ type: 'callback', url: secret('https://app/cb?code=the-code-value&state=s1') }));
    await done;
    const text = JSON.stringify(events.map((e) => ({ ...e, actorRef: e.actorRef.getSnapshot(), sourceRef: undefined })));
    for (const value of ['the-code-value', 'the-context-secret', 'the-access-token']) expect(text).toContain(value);
  });

  it('by default none of them shows', async () => {
    const { events, done } = run({}, (actor) => actor.send({ type: 'callback', url: 'https://app/cb?code=the-code-value&state=s1' }));
    await done;
    const text = JSON.stringify(events.map((e) => ({ ...e, actorRef: e.actorRef.getSnapshot(), sourceRef: undefined })));
    for (const value of ['the-code-value', 'the-context-secret', 'the-access-token']) expect(text).not.toContain(value);
    expect(text).toContain(REDACTED);
  });

  it('a parked root does not show its stop; an observer inspector works too; no inspector function is a no-op', () => {
    const events: InspectionEvent[] = [];
    const handle = redactingInspector({ next: (event: InspectionEvent) => events.push(event) });
    const actor = createActor(machine, { inspect: handle }).start();
    handle.park();
    actor.stop();
    expect(events.length).toBeGreaterThan(0);
    expect(events.some((e) => 'event' in e && (e.event as { type: string }).type === 'xstate.stop')).toBe(false);
    const silent = redactingInspector({});
    expect(() => createActor(machine, { inspect: silent }).start().stop()).not.toThrow();
  });

  it('an unparked root shows its stop', () => {
    const events: InspectionEvent[] = [];
    createActor(machine, { inspect: redactingInspector((event) => events.push(event)) }).start().stop();
    expect(events.some((e) => 'event' in e && (e.event as { type: string }).type === 'xstate.stop')).toBe(true);
  });
});

describe('createGrantActor and grantOutput: a stopped actor ends cancelled', () => {
  it('stop() during awaitingCallback: toPromise resolves the cancelled output', async () => {
    const { authorizationCodeMachine, createGrantActor, provideServices } = await import('../../machines/index.js');
    const { genericOAuth2 } = await import('../../src/providers/index.js');
    const provider = genericOAuth2({ id: 'as', authorizationEndpoint: 'https://as.example/a', tokenEndpoint: 'https://as.example/t' });
    const actor = createGrantActor(provideServices(authorizationCodeMachine, {}), { input: { provider, client: { clientId: 'app', redirectUri: 'https://app.example/cb' } } }).start();
    const { waitFor } = await import('xstate');
    await waitFor(actor, (s) => s.matches('awaitingCallback'));
    const output = toPromise(actor);
    actor.stop();
    expect(await output).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  });

  it('grantOutput resolves cancelled for an actor stopped without a cancel state, and the output otherwise', async () => {
    const { grantOutput } = await import('../../src/grant-actor.js');
    const stopped = createActor(machine).start();
    const pending = grantOutput(stopped);
    stopped.stop();
    expect(await pending).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    expect(await grantOutput(stopped)).toMatchObject({ status: 'cancelled' });
    const finals = setup({}).createMachine({ id: 'f', initial: 'done', states: { done: { type: 'final' } }, output: () => ({ status: 'succeeded', tokens: null }) });
    expect(await grantOutput(createActor(finals).start() as never)).toMatchObject({ status: 'succeeded' });
  });
});

describe('redactCallbackUrl, edge cases', () => {
  it('a pair with an empty name, a public parameter first, a colon in a bare query, a scheme URL without query', () => {
    expect(redactCallbackUrl('https://app/cb?=secret-value&state=s')).toBe(`https://app/cb?=${REDACTED}&state=s`);
    expect(redactCallbackUrl('?state=s&code=abc')).toBe(`?state=s&code=${REDACTED}`);
    expect(redactCallbackUrl('#state=s&code=abc')).toBe(`#state=s&code=${REDACTED}`);
    expect(redactCallbackUrl('code=ab:cd&state=s')).toBe(`code=${REDACTED}&state=s`);
    expect(redactCallbackUrl('state=s&code=ab:cd')).toBe(`state=s&code=${REDACTED}`);
    expect(redactCallbackUrl('https://app.example/a=b')).toBe('https://app.example/a=b');
    expect(redactCallbackUrl(' https://app.example/a=b')).toBe(' https://app.example/a=b');
    expect(redactCallbackUrl('com.example.app:/cb/a=b')).toBe('com.example.app:/cb/a=b');
    expect(redactCallbackUrl('https://app/cb?st+ate=s')).toBe(`https://app/cb?st+ate=${REDACTED}`);
  });
});

describe('redactingInspector, called directly', () => {
  const ref = (sessionId: string, parent?: object, logic: object = { id: 'm' }) =>
    ({ sessionId, id: sessionId, _parent: parent, logic, getSnapshot: () => ({ value: 'x', status: 'active' }) }) as never;

  it('the same actor is always the same view; other events and their url fields pass untouched; a callback without a string url too', () => {
    const seen: InspectionEvent[] = [];
    const handle = redactingInspector((event) => seen.push(event), { flowId: 'f' });
    const root = ref('x:1');
    handle({ type: '@xstate.event', actorRef: root, rootId: 'x:1', event: { type: 'navigate', url: 'https://x?code=1' }, sourceRef: undefined } as never);
    handle({ type: '@xstate.event', actorRef: root, rootId: 'x:1', event: { type: 'callback', url: 42 }, sourceRef: undefined } as never);
    handle({ type: '@xstate.event', actorRef: root, rootId: 'x:1', event: { type: 'go' }, sourceRef: undefined } as never);
    expect(seen).toHaveLength(3);
    expect(seen[0]!.actorRef).toBe(seen[1]!.actorRef);
    expect(seen[0]!.actorRef.sessionId).toBe('m:f');
    expect((seen[0] as { event: unknown }).event).toEqual({ type: 'navigate', url: 'https://x?code=1' });
    expect((seen[1] as { event: unknown }).event).toEqual({ type: 'callback', url: 42 });
    expect((seen[2] as { event: unknown }).event).toEqual({ type: 'go' });
  });

  it('a root that is not a machine is shown as actor:<flowId>; run ids are 6 hex digits, flow ids 32', () => {
    const seen: InspectionEvent[] = [];
    redactingInspector((event) => seen.push(event), { flowId: 'f' })({ type: '@xstate.event', actorRef: ref('x:1', undefined, {}), rootId: 'x:1', event: { type: 'go' } } as never);
    expect(seen[0]!.actorRef.sessionId).toBe('actor:f');
    for (let i = 0; i < 60; i++) {
      const events: InspectionEvent[] = [];
      const handle = redactingInspector((event) => events.push(event));
      const root = ref('x:1');
      handle({ type: '@xstate.event', actorRef: ref('x:2', root), rootId: 'x:1', event: { type: 'go' } } as never);
      expect(events[0]!.actorRef.sessionId).toMatch(/^m:[0-9a-f]{32}\/[0-9a-f]{6}:x:2$/);
    }
  });

  it('inspectionSettled waits for an idle callback where there is a window', async () => {
    const { inspectionSettled } = await import('../../src/inspect/inspector.js');
    const calls: string[] = [];
    const g = globalThis as { window?: unknown };
    g.window = { requestIdleCallback: (cb: () => void) => (calls.push('idle'), setTimeout(cb, 0)) };
    try {
      await inspectionSettled();
      g.window = { requestAnimationFrame: (cb: () => void) => (calls.push('frame'), setTimeout(cb, 0)) };
      await inspectionSettled();
      g.window = {};
      await inspectionSettled();
    } finally {
      delete g.window;
    }
    expect(calls).toEqual(['idle', 'frame']);
  });
});
