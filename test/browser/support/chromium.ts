import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (no browser download: `playwright install` is never
 * run). Headless, without the sandbox: the tests run as root. The README says how to get it.
 */
export const chromiumPath = '/usr/bin/chromium';

export const chromiumSkipReason = existsSync(chromiumPath)
  ? undefined
  : `Chromium is not installed at ${chromiumPath} (Debian/Ubuntu: apt-get install -y chromium); .ci/run installs it`;

export async function launchChromium(): Promise<Browser> {
  if (chromiumSkipReason) throw new Error(chromiumSkipReason);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
}
