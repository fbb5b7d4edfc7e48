import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseProvider } from '../../src/provider/parse.js';
import { checkUserAgent, runtimeSendsUserAgent } from '../../src/provider/user-agent.js';
import { genericOAuth2, pathOfExile } from '../../src/providers/index.js';
import { thrown } from '../support/oauth-error.js';

/**
 * Written against the survivors of a mutation run over src/provider/user-agent.ts: the template
 * pattern (anchors, placeholders, literal characters, the client id taken literally, optional
 * info after a space), the messages, and the runtime default for a missing User-Agent.
 */

const ok = (userAgent: string | undefined, clientId = 'tool', provider = pathOfExile) =>
  checkUserAgent(provider, { clientId, ...(userAgent === undefined ? {} : { userAgent }) }, { userAgentHeader: true });
const refused = (userAgent: string | undefined, clientId = 'tool', provider = pathOfExile) => thrown(() => ok(userAgent, clientId, provider));
const withRule = (template: string, required = true) =>
  parseProvider({ ...genericOAuth2({ id: 'as', tokenEndpoint: 'https://as.example/token' }), userAgent: { required, template } });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('checkUserAgent: Path of Exile\'s "OAuth {clientId}/{version} (contact: {email}) OptionalInfo"', () => {
  it.each([
    'OAuth tool/1.0.0 (contact: me@example.com)',
    'OAuth tool/1.0.0 (contact: me@example.com) StashTab/2 extra words',
    'OAuth tool/v 1 (contact: a b)',
    'OAuth tool/1 (contact: x)',
  ])('accepts %j', (ua) => {
    expect(() => ok(ua)).not.toThrow();
  });
  it.each([
    ['an empty version', 'OAuth tool/ (contact: me@example.com)'],
    ['a version that is a space', 'OAuth tool/  (contact: me@example.com)'],
    ['a version starting with a space', 'OAuth tool/ 1 (contact: me@example.com)'],
    ['a version ending with a space', 'OAuth tool/1  (contact: me@example.com)'],
    ['an empty contact', 'OAuth tool/1 (contact: )'],
    ['something before', 'xOAuth tool/1 (contact: me)'],
    ['a space before', ' OAuth tool/1 (contact: me)'],
    ['something glued after', 'OAuth tool/1 (contact: me)x'],
    ['no parentheses', 'OAuth tool/1 contact: me'],
    ['another client id', 'OAuth tool2/1 (contact: me)'],
    ['a client id that only ends like it', 'OAuth xtool/1 (contact: me)'],
    ['the wrong prefix', 'oauth tool/1 (contact: me)'],
  ])('refuses %s, naming client.userAgent and quoting the template', (_what, ua) => {
    expect(refused(ua)).toMatchObject({
      code: 'invalid_configuration',
      field: 'client.userAgent',
      message: `client.userAgent must have the form "OAuth {clientId}/{version} (contact: {contact})" with this client's id, got "${ua}"`,
    });
  });
  it('the client id is matched literally, regular-expression characters included', () => {
    expect(() => ok('OAuth my.tool+1/1 (contact: me)', 'my.tool+1')).not.toThrow();
    expect(refused('OAuth myXtool1/1 (contact: me)', 'my.tool+1').field).toBe('client.userAgent');
    expect(refused('OAuth my.toolll1/1 (contact: me)', 'my.tool+1').field).toBe('client.userAgent');
  });
});

describe('checkUserAgent: the template\'s literal text is literal', () => {
  it('regular-expression characters in a template match only themselves', () => {
    const p = withRule('a.b*c+d?e^f$g(h)i|j[k]l\\m{n}o {clientId}');
    expect(() => ok('a.b*c+d?e^f$g(h)i|j[k]l\\m{n}o tool', 'tool', p)).not.toThrow();
    for (const ua of ['aXb*c+d?e^f$g(h)i|j[k]l\\m{n}o tool', 'a.bbc+d?e^f$g(h)i|j[k]l\\m{n}o tool', 'a.b*cd?e^f$g(h)i|j[k]l\\m{n}o tool', 'a.b*c+de^f$g(h)i|j[k]l\\m{n}o tool', 'j tool']) {
      expect(refused(ua, 'tool', p).field).toBe('client.userAgent');
    }
  });
  it('any {name} is a placeholder for some text without spaces at its ends', () => {
    const p = withRule('App/{version}');
    expect(() => ok('App/1.2', 'tool', p)).not.toThrow();
    expect(() => ok('App/{version}', 'tool', p)).not.toThrow();
    expect(refused('App/', 'tool', p).field).toBe('client.userAgent');
  });
});

describe('checkUserAgent: a missing User-Agent', () => {
  it('where required and the runtime sends it: refused, quoting the template', () => {
    for (const ua of [undefined, '']) {
      expect(refused(ua)).toMatchObject({
        code: 'invalid_configuration',
        field: 'client.userAgent',
        message: 'provider "path-of-exile" requires a User-Agent of the form "OAuth {clientId}/{version} (contact: {contact})"; pass client.userAgent',
      });
    }
  });
  it('by default the runtime decides: refused in Node, allowed in a page', () => {
    expect(() => checkUserAgent(pathOfExile, { clientId: 'tool' })).toThrow(expect.objectContaining({ field: 'client.userAgent' }));
    vi.stubGlobal('document', {});
    expect(() => checkUserAgent(pathOfExile, { clientId: 'tool' })).not.toThrow();
    expect(() => checkUserAgent(pathOfExile, { clientId: 'tool', userAgent: 'bad' })).toThrow(expect.objectContaining({ field: 'client.userAgent' }));
  });
  it('where not required: allowed, but one given must still fit', () => {
    const optional = withRule('OAuth {clientId}/{version}', false);
    expect(() => ok(undefined, 'tool', optional)).not.toThrow();
    expect(() => ok('', 'tool', optional)).not.toThrow();
    expect(() => ok('OAuth tool/1', 'tool', optional)).not.toThrow();
    expect(refused('OAuth other/1', 'tool', optional)).toMatchObject({ field: 'client.userAgent' });
  });
});

describe('runtimeSendsUserAgent: only a page or a browser worker cannot send it', () => {
  const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';
  it('a location and a browser-like user agent without WorkerGlobalScope or document is no browser worker', () => {
    vi.stubGlobal('location', { href: 'https://app.example/' });
    vi.stubGlobal('navigator', { userAgent: BROWSER_UA });
    expect(runtimeSendsUserAgent()).toBe(true);
  });
  it('a worker scope with a location but no navigator (or no user agent string) can send it', () => {
    vi.stubGlobal('WorkerGlobalScope', function WorkerGlobalScope() {});
    vi.stubGlobal('location', { href: 'https://app.example/worker.js' });
    vi.stubGlobal('navigator', undefined);
    expect(runtimeSendsUserAgent()).toBe(true);
    vi.stubGlobal('navigator', {});
    expect(runtimeSendsUserAgent()).toBe(true);
    vi.stubGlobal('navigator', { userAgent: 'Deno/2.1.0' });
    expect(runtimeSendsUserAgent()).toBe(true);
    vi.stubGlobal('navigator', { userAgent: BROWSER_UA });
    expect(runtimeSendsUserAgent()).toBe(false);
  });
});
