// The e2e harness: the browser (Debian's chromium through playwright-core), pages that fail
// the run on any console or page error, screenshots at desktop and phone sizes, and a PNG
// made on the spot to upload. The server is started by scripts/e2e.sh (ROOST_E2E_BASE).
import { mkdirSync } from "node:fs";
import { deflateSync, crc32 } from "node:zlib";
import { chromium } from "playwright-core";

export const base = process.env.ROOST_E2E_BASE ?? "http://127.0.0.1:8080";
export const results = new URL("../test-results/", import.meta.url).pathname;
mkdirSync(results, { recursive: true });

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Root in a container has no user namespaces for chromium's sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** A fresh signed-out browser context and page whose errors are collected in `errors`. */
export async function openPage(browser, errors) {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: base, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const url = message.location().url ?? "";
    errors.push(`console error on ${page.url()}: ${message.text()} (${url})`);
  });
  return page;
}

/**
 * Screenshots of the page as it is, at desktop and then phone size, after checking what
 * every screen owes its readers: a title of its own, alt text on every image, a label on
 * every field.
 */
export async function shoot(page, name, { fullPage = false } = {}) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await settle(page);
  const faults = await page.evaluate(() => [
    ...(document.title.endsWith("· Roost") ? [] : [`the title is "${document.title}"`]),
    ...[...document.images].filter((img) => !img.hasAttribute("alt")).map((img) => `no alt: ${img.src}`),
    ...[...document.querySelectorAll("input, textarea, select")]
      .filter((field) => !field.labels?.length && !field.getAttribute("aria-label"))
      .map((field) => `no label: ${field.outerHTML.slice(0, 80)}`),
  ]);
  if (faults.length) throw new Error(`${name}: ${faults.join("; ")}`);
  await page.screenshot({ path: `${results}${name}-desktop.png`, fullPage });
  await page.setViewportSize(PHONE);
  await settle(page);
  await page.screenshot({ path: `${results}${name}-phone.png`, fullPage });
  await page.setViewportSize(DESKTOP);
}

async function settle(page) {
  // Loading states gone, images in view decoded, fonts laid out.
  await page.waitForFunction(() => !document.querySelector('[role="status"] .spinner'));
  await page.evaluate(() =>
    Promise.all(
      [...document.images]
        .filter((img) => img.getBoundingClientRect().top < innerHeight && img.loading !== "lazy")
        .map((img) => img.decode().catch(() => undefined)),
    ),
  );
  await page.waitForTimeout(200);
}

/** Signs a new user up through the form; lands on "Who to follow". */
export async function signUp(page, username, displayName) {
  await page.goto("/signup");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name (optional)").fill(displayName);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/people");
}

export async function signIn(page, username) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === "/");
}

/** A `width` x `height` PNG: a diagonal gradient, so it is not a flat colour. */
export function png(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = 79 + Math.round((x / width) * 120);
      row[2 + x * 3] = 70 + Math.round((y / height) * 100);
      row[3 + x * 3] = 229 - Math.round(((x + y) / (width + height)) * 90);
    }
    rows.push(row);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A request to the API from the test itself (checks the browser cannot make for us). */
export async function api(method, path, body, token) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}
