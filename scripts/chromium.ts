import { accessSync, constants } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/**
 * Headless Chromium for the storefront's browser test and `npm run screenshot`: Debian's `chromium` package driven by
 * playwright-core (which downloads no browser of its own). `.ci/run` installs the package when it is missing.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * Without these Chromium reaches for the internet at start (component updates, sync, first-run pages). Each launch
 * also gets a fresh user-data dir: playwright-core makes a new temporary profile per launch and deletes it on close.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    return (
      `Chromium is not installed at ${CHROMIUM_PATH}: the storefront's browser test needs it. ` +
      "Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this), or set CHROMIUM_PATH."
    );
  }
}

export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
