/**
 * What every page is checked for: axe-core (no serious or critical violation, light and
 * dark), the form basics a screen reader and a phone rely on, a visible keyboard focus,
 * and screenshots at phone and desktop size in both colour schemes.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { PageGlobals } from './dom.ts';

export const SCREENSHOT_DIR = resolve(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
export const SIZES = [{ width: 390, height: 844 }, { width: 1280, height: 800 }] as const;
export const SCHEMES = ['light', 'dark'] as const;

/** The names of the pages inspected so far, each once. */
export const inspected = new Set<string>();

let axeSource: Promise<string> | undefined;

export interface AxeFinding {
  rule: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** axe-core's violations on the page as it is now. */
export async function axeFindings(page: Page): Promise<AxeFinding[]> {
  axeSource ??= readFile(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
  // Evaluated by the driver, so the page's CSP (no inline script) does not apply.
  if (!(await page.evaluate(() => (globalThis as unknown as PageGlobals).axe !== undefined))) await page.evaluate(await axeSource);
  return page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as PageGlobals;
    if (axe === undefined) throw new Error('axe-core did not load');
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? 'unknown',
      help: `${v.help} (${v.helpUrl})`,
      nodes: v.nodes.map((n) => `${n.target.map(String).join(' ')} — ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`),
    }));
  });
}

export async function assertNoSeriousViolations(page: Page, where: string): Promise<void> {
  const serious = (await axeFindings(page)).filter((f) => f.impact === 'serious' || f.impact === 'critical');
  assert.equal(serious.length, 0, `axe found serious or critical violations on ${where}:\n${JSON.stringify(serious, null, 2)}`);
}

interface PageFacts {
  lang: string | null;
  title: string;
  headings: number;
  unlabelled: string[];
  unannounced: string[];
  codeFields: Array<{ html: string; autocomplete: string | null; recovery: boolean }>;
}

/**
 * Labels on every input, messages announced (`.alert` is role=alert, `.notice` role=status),
 * code fields that phones can autofill (`autocomplete="one-time-code"`; a recovery code is
 * deliberately `off`), one `<h1>`, a language and a title.
 */
export async function assertPageBasics(page: Page, where: string): Promise<void> {
  const facts: PageFacts = await page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const all = (selector: string) => Array.from(document.querySelectorAll(selector));
    const named = (e: { getAttribute(name: string): string | null }) => (e.getAttribute('aria-label') ?? e.getAttribute('aria-labelledby') ?? '') !== '';
    return {
      lang: document.documentElement.getAttribute('lang'),
      title: document.title,
      headings: all('h1').length,
      unlabelled: all('input:not([type=hidden]), select, textarea').filter((e) => (e.labels?.length ?? 0) === 0 && !named(e)).map((e) => e.outerHTML),
      unannounced: [...all('.alert:not([role=alert])'), ...all('.notice:not([role=status])')].map((e) => e.outerHTML),
      codeFields: all('input[name=code]').map((e) => ({
        html: e.outerHTML,
        autocomplete: e.getAttribute('autocomplete'),
        recovery: e.closest('form')?.querySelector('input[name=method][value=recovery]') != null,
      })),
    };
  });
  assert.equal(facts.lang, 'en', `${where}: <html lang>`);
  assert.match(facts.title, /\S — otpgate$/, `${where}: <title>`);
  assert.equal(facts.headings, 1, `${where}: one <h1>`);
  assert.deepEqual(facts.unlabelled, [], `${where}: inputs without a label`);
  assert.deepEqual(facts.unannounced, [], `${where}: messages not announced`);
  for (const field of facts.codeFields) {
    assert.equal(field.autocomplete, field.recovery ? 'off' : 'one-time-code', `${where}: ${field.html}`);
  }
}

/** The focused element and whether its focus is drawn (an outline or a box shadow). */
export async function focusIndicator(page: Page): Promise<{ element: string; visible: boolean }> {
  return page.evaluate(() => {
    const window = globalThis as unknown as PageGlobals;
    const element = window.document.activeElement;
    if (element === null) return { element: '(none)', visible: false };
    const style = window.getComputedStyle(element);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return { element: element.outerHTML.slice(0, 160), visible: outline || style.boxShadow !== 'none' };
  });
}

export async function assertVisibleFocus(page: Page): Promise<void> {
  const focus = await focusIndicator(page);
  assert.ok(focus.visible, `no visible focus style on ${focus.element}`);
}

/**
 * The full check of one page, named for its screenshots
 * (`test-results/screenshots/NAME-390x844-light.png` …): the basics, axe in both schemes,
 * and four screenshots. The page is left as it was (1280×800, light).
 */
export async function inspectPage(page: Page, name: string): Promise<void> {
  assert.ok(!inspected.has(name), `page name used twice: ${name}`);
  inspected.add(name);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await assertPageBasics(page, name);
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  try {
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      await assertNoSeriousViolations(page, `${name} (${colorScheme})`);
      for (const size of SIZES) {
        await page.setViewportSize(size);
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${size.width}x${size.height}-${colorScheme}.png`), fullPage: true });
      }
    }
  } finally {
    await page.setViewportSize(viewport);
    await page.emulateMedia({ colorScheme: 'light' });
  }
}
