/**
 * A small single-page app on grantflow/browser against a local oidc-provider (`npm run example:spa`).
 * One page is both the app and the redirect URI. Open it in two tabs: localStorage shares the
 * session, and signing out in one tab signs the other out (subscribe).
 */
import { createBrowserAuth, webStorage } from 'grantflow/browser';
import { genericOAuth2 } from 'grantflow/providers';

const config = JSON.parse(document.getElementById('config')!.textContent!) as {
  issuer: string;
  clientId: string;
};

const auth = createBrowserAuth({
  provider: genericOAuth2({
    id: 'local-oidc',
    issuer: config.issuer,
    authorizationEndpoint: `${config.issuer}/auth`,
    tokenEndpoint: `${config.issuer}/token`,
    revocationEndpoint: `${config.issuer}/token/revocation`,
  }),
  clientId: config.clientId,
  redirectUri: `${location.origin}/`,
  scopes: ['openid', 'api:read'],
  // Shared by the tabs of this origin; leave out for one session per tab (sessionStorage).
  storage: webStorage(localStorage),
});

const $ = (id: string) => document.getElementById(id)!;
const log = (line: string) => ($('log').textContent = `${new Date().toLocaleTimeString()} ${line}\n${$('log').textContent}`);
const show = async () => ($('status').textContent = (await auth.isAuthenticated()) ? 'Signed in.' : 'Signed out.');
const failed = (error: unknown) => log(`error: ${(error as { code?: string; message?: string }).code ?? ''} ${(error as Error).message}`);

auth.subscribe((event) => {
  log(`event: ${event.type}`);
  void show();
});

$('login').addEventListener('click', () => void auth.login().catch(failed));
// login({ popup: true }) must run in the click handler itself, or the browser blocks the popup.
$('popup').addEventListener('click', () => void auth.login({ popup: true }).then(() => log('signed in in the popup'), failed));
$('token').addEventListener('click', () => void auth.getAccessToken().then((token) => log(`access token: ${token.slice(0, 24)}…`), failed));
$('logout').addEventListener('click', () => void auth.logout().then((result) => log(`logout: revoked ${result.revoked}, deleted ${result.deleted}`)));

async function main() {
  if (auth.isRedirectCallback()) {
    if (window.opener) return auth.handlePopupCallback();
    try {
      const result = await auth.handleRedirectCallback();
      log(result.status === 'signed_in' ? 'signed in' : 'this sign-in was already handled');
    } catch (error) {
      failed(error);
    }
  }
  await show();
}

void main();
