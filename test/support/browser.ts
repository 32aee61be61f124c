/**
 * Headless Chromium for the browser tests: Debian's chromium (CHROMIUM_PATH to use another), with
 * the flags this closed machine needs, launched through playwright-core.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CI installs Chromium (.ci/run) and must not skip; elsewhere a missing browser skips the file. */
export const browserAvailable = existsSync(CHROMIUM) || process.env.REQUIRE_BROWSER === '1';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}
