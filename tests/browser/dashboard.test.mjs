// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the
// demo (scripts/demo.sh: the real binary, the emulator behind its proxy, one real sweep) on
// a free loopback port. Run by scripts/browser-test.sh; screenshots of every page go to
// tests/browser/output/ (not committed).
//
// Every page is checked for console errors and for requests that leave the service.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const output = process.env.BROWSER_OUTPUT ?? path.join(here, "output");
mkdirSync(output, { recursive: true });

let demo;
let demoLog = "";
let base;
let token;
let browser;
let context;
let page;
const consoleErrors = [];
const offService = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Starts the demo and resolves once it prints the dashboard's token. */
function startDemo(port) {
  return new Promise((resolve, reject) => {
    demo = spawn("bash", ["scripts/demo.sh"], {
      cwd: repo,
      env: { ...process.env, DEMO_LISTEN: `127.0.0.1:${port}` },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const timer = setTimeout(() => reject(new Error(`the demo did not come up:\n${demoLog}`)), 15 * 60 * 1000);
    const read = (chunk) => {
      demoLog += chunk.toString();
      const match = demoLog.match(/sign in with this run's operator token: (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    demo.stdout.on("data", read);
    demo.stderr.on("data", read);
    demo.on("exit", (code) => reject(new Error(`the demo exited (${code}):\n${demoLog}`)));
  });
}

async function api(pathname) {
  const response = await fetch(base + pathname, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `${pathname}: ${response.status}`);
  return response.json();
}

async function shot(name) {
  await page.screenshot({ path: path.join(output, `${name}.png`), fullPage: true });
}

/** Presses Tab until the element with `id` has the focus (keyboard only). */
async function tabTo(id) {
  for (let i = 0; i < 400; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`Tab never reached #${id}`);
}

/** The demo account named `name`. */
async function accountNamed(name) {
  const accounts = (await api("/api/v1/accounts")).accounts;
  const account = accounts.find((a) => a.name === name);
  assert.ok(account, `no account ${name}`);
  return account.id;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  token = await startDemo(port);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
  context.on("request", (request) => {
    if (!request.url().startsWith(base + "/")) offService.push(request.url());
  });
});

after(async () => {
  await browser?.close();
  if (demo?.pid) {
    try {
      process.kill(-demo.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
});

test("signing in works with the keyboard only", async () => {
  await page.goto(base + "/");
  assert.match(page.url(), /\/sign-in\?next=%2F$/);
  await shot("sign-in");
  // The token field has the focus; type and press Enter.
  assert.equal(await page.evaluate(() => document.activeElement?.id), "token");
  await page.keyboard.type("not-the-token");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#sign-in-error");
  assert.match(await page.textContent("#sign-in-error"), /not configured/);
  // Chromium logs the refused sign-in's 401 as a console error: that one was asked for.
  const refused = consoleErrors.filter((e) => /status of 401/.test(e));
  assert.ok(refused.length <= 1, refused.join("\n"));
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 401/.test(e)));
  await tabTo("token");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await page.waitForURL(base + "/");
  assert.match(await page.textContent("header"), /Signed in as\s*operator/);
});

test("the posture page shows the numbers of /api/v1/posture", async () => {
  const posture = await api("/api/v1/posture");
  await page.goto(base + "/");
  const shown = await page.$$eval("[data-metric]", (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.dataset.metric, Number(n.textContent.trim())])),
  );
  const want = {
    "accounts.total": posture.accounts.total,
    "accounts.assessed": posture.accounts.assessed,
    "accounts.not_assessed": posture.accounts.not_assessed,
    failing_suppressed: posture.failing_suppressed,
  };
  for (const status of ["pass", "fail", "error"]) want[`findings_by_status.${status}`] = posture.findings_by_status[status] ?? 0;
  for (const severity of ["critical", "high", "medium", "low", "informational"]) {
    want[`failing_by_severity.${severity}`] = posture.failing_by_severity[severity] ?? 0;
  }
  for (const [key, value] of Object.entries(want)) assert.equal(shown[key], value, key);
  assert.ok(posture.accounts.assessed >= 3, "the demo organization was swept");
  assert.ok(posture.findings_by_status.fail > 0, "the sandbox fails");
  assert.ok(await page.isVisible("svg.chart"), "the trend chart is drawn");
  await shot("posture");
  await page.screenshot({ path: path.join(output, "readme-posture.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await shot("posture-phone");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("drill down: posture → control → account → finding, and read the deciding SCP statement", async () => {
  await page.goto(base + "/");
  await page.click("nav[aria-label=Sections] >> text=Controls");
  await shot("controls");
  await page.click("a[href='/controls/BR.ORG.1']");
  await page.waitForURL(/\/controls\/BR\.ORG\.1/);
  await shot("control");
  const sandbox = await accountNamed("sandbox-experiments");
  await page.click(`#control-findings a[href='/accounts/${sandbox}']`);
  await page.waitForURL(`${base}/accounts/${sandbox}`);
  assert.match(await page.textContent("h1"), /sandbox-experiments/);
  await shot("account");
  await page.click("h3:has(a[href='/controls/BR.ORG.1']) + div a[href^='/findings/']");
  await page.waitForURL(/\/findings\/[0-9a-f]{32}$/);
  const rows = await page.$$eval("#probes tbody tr", (trs) =>
    trs.map((tr) => ({
      region: tr.cells[0].textContent.trim(),
      outcome: tr.cells[5].textContent.trim(),
      deciding: tr.querySelector(".deciding")?.textContent.trim() ?? "",
    })),
  );
  const denied = rows.filter((r) => r.region.startsWith("eu-") && /explicit deny/.test(r.outcome));
  assert.ok(denied.length > 0, JSON.stringify(rows.slice(0, 5)));
  for (const r of denied) assert.match(r.deciding, /DenyBedrockInEurope/, "the deciding statement is named");
  const open = rows.filter((r) => !r.region.startsWith("eu-") && /allowed/.test(r.outcome));
  assert.ok(open.length > 0, "the hole in the fence is shown");
  for (const r of open) assert.match(r.deciding, /open: no deny statement applies/);
  await shot("finding");
  await page.locator("#evidence").scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector("#evidence").scrollIntoView());
  await page.screenshot({ path: path.join(output, "readme-finding.png") });
  await page.click("#raw-evidence summary");
  assert.ok(await page.isVisible("#raw-evidence pre"), "the raw JSON is one click away");
});

test("an operator starts a sweep and watches it reach the end", async () => {
  const before = (await api("/api/v1/sweeps")).sweeps.length;
  await page.goto(base + "/sweeps");
  await shot("sweeps");
  await page.click("#start-sweep");
  await page.waitForURL(/\/sweeps\/[0-9a-f-]{36}$/);
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.textContent.trim() === "completed", null, {
    timeout: 180_000,
    polling: 500,
  });
  await shot("sweep");
  const sweeps = (await api("/api/v1/sweeps")).sweeps;
  assert.equal(sweeps.length, before + 1);
  assert.equal(sweeps[0].status, "completed");
});

test("an exception made from a finding, with the keyboard only, shows it suppressed", async () => {
  const failing = (await api("/api/v1/findings?status=fail&control_id=BR.ORG.1")).findings;
  assert.ok(failing.length > 0);
  await page.goto(`${base}/findings/${failing[0].id}`);
  await page.locator("#x-reason").scrollIntoViewIfNeeded();
  await page.evaluate(() => document.activeElement?.blur());
  await tabTo("x-reason");
  await page.keyboard.type("Sandbox only; the fence lands with the next landing-zone release.");
  await page.keyboard.press("Tab"); // the expiry, prefilled 90 days ahead
  assert.equal(await page.evaluate(() => document.activeElement?.id), "x-expires");
  await tabTo("x-submit"); // past the date's day, month and year
  await page.keyboard.press("Enter");
  await page.waitForSelector("#suppressed");
  assert.equal((await page.textContent("#suppressed")).trim(), "suppressed");
  const listed = await api(`/api/v1/findings/${failing[0].id}`);
  assert.ok(listed.suppressed_by, "the API agrees");
  await page.click("#suppressed + a");
  await page.waitForURL(/\/exceptions\/[0-9a-f-]{36}$/);
  await shot("exception");
  await page.goto(base + "/exceptions");
  await shot("exceptions");
});

test("the other pages render", async () => {
  for (const [name, pathname] of [
    ["accounts", "/accounts"],
    ["accounts-failing", "/accounts?failing=on"],
    ["compliance", "/compliance"],
    ["search", "/search?q=sandbox"],
  ]) {
    const response = await page.goto(base + pathname);
    assert.equal(response.status(), 200, pathname);
    await shot(name);
  }
  const csv = await page.evaluate(async () => (await fetch("/compliance/evidence?format=csv")).text());
  const lines = csv.trimEnd().split("\n");
  assert.match(lines[0], /^control_id,account_id,region,resource_id,status,detail,first_seen_at,evidence_hash$/);
  const exported = await api("/api/v1/evidence?format=json");
  assert.ok(exported.findings.length > 0);
  assert.equal(lines.length, exported.findings.length + 1, "one line per finding");
});

test("signing out ends the session, for a copy of its cookie too", async () => {
  await page.goto(base + "/");
  const copy = (await context.cookies()).filter((c) => c.name === "sweeper_session");
  assert.equal(copy.length, 1);
  await page.click("text=Sign out");
  await page.waitForURL(base + "/sign-in");
  await page.goto(base + "/accounts");
  assert.match(page.url(), /\/sign-in\?next=/);
  await context.addCookies(copy);
  await page.goto(base + "/accounts");
  assert.match(page.url(), /\/sign-in\?next=/, "the copied cookie no longer signs in");
});

test("no console errors and no request off the service", () => {
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(offService, []);
});
