/**
 * A minimal user agent: follows redirects by hand with a cookie jar (as a browser would) until
 * the server redirects to the client's redirect URI, and returns that callback URL unfetched.
 */
interface Cookie {
  name: string;
  value: string;
  path: string;
}

export class CookieJar {
  private readonly cookies: Cookie[] = [];

  store(setCookies: string[], requestUrl: URL): void {
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const eq = pair!.indexOf('=');
      if (eq < 1) continue;
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const pathAttribute = attributes.find((a) => a.toLowerCase().startsWith('path='));
      const path = pathAttribute ? pathAttribute.slice(5) : requestUrl.pathname.replace(/\/[^/]*$/, '') || '/';
      const expired = attributes.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()) || attributes.some((a) => /^max-age=0$/i.test(a));
      const index = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (index !== -1) this.cookies.splice(index, 1);
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  header(url: URL): string {
    return this.cookies
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

export async function followToCallback(startUrl: string, redirectUri: string, options: { maxHops?: number; jar?: CookieJar } = {}): Promise<string> {
  const jar = options.jar ?? new CookieJar();
  const maxHops = options.maxHops ?? 12;
  let url = new URL(startUrl);
  for (let hop = 0; hop < maxHops; hop++) {
    const cookie = jar.header(url);
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    jar.store(response.headers.getSetCookie(), url);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || !location) {
      const body = (await response.text()).slice(0, 300);
      throw new Error(`expected a redirect from ${url.pathname}, got HTTP ${response.status}: ${body}`);
    }
    await response.body?.cancel();
    const next = new URL(location, url);
    if (next.toString().startsWith(redirectUri.split('?')[0]!)) return next.toString();
    url = next;
  }
  throw new Error(`no redirect to ${redirectUri} within ${maxHops} hops`);
}
