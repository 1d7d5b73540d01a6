/**
 * How a person works the pages: with a pointer (click and fill), or with the keyboard
 * only (Tab to each control, type, Enter — never a click, and the focus must be visible
 * on every control reached). Either way each step waits for the page it leads to.
 */
import assert from 'node:assert/strict';
import type { Download, Locator, Page, Response } from 'playwright-core';
import { assertPageBasics, assertVisibleFocus, inspectPage } from './checks.ts';
import type { PageGlobals } from './dom.ts';

export type InputMode = 'pointer' | 'keyboard';

/** More Tab presses than any page has controls. */
const MAX_TABS = 80;

export class Driver {
  readonly page: Page;
  readonly mode: InputMode;
  /** Run the full inspection (axe, screenshots) on the pages of this journey; otherwise only the basics. */
  readonly inspect: boolean;

  constructor(page: Page, mode: InputMode, options: { inspect?: boolean } = {}) {
    this.page = page;
    this.mode = mode;
    this.inspect = options.inspect ?? false;
  }

  /** The path of the page shown, with its query. */
  get path(): string {
    const url = new URL(this.page.url());
    return `${url.pathname}${url.search}`;
  }

  /** Opens a page by its address, as typed into the address bar; its HTTP status. */
  async goto(path: string): Promise<number> {
    const response = await this.page.goto(path);
    assert.ok(response, `no response for ${path}`);
    return response.status();
  }

  /** The checks every page gets, and in an inspecting journey axe and screenshots under `name`. */
  async check(name: string): Promise<void> {
    if (this.inspect) await inspectPage(this.page, name);
    else await assertPageBasics(this.page, `${name} (${this.mode})`);
  }

  async fill(field: Locator, text: string): Promise<void> {
    if (this.mode === 'pointer') return field.fill(text);
    await this.tabTo(field);
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Delete');
    if (text !== '') await this.page.keyboard.type(text);
  }

  /** Follows a link or presses a button, and waits for the page it leads to; that page's HTTP status. */
  async activate(target: Locator): Promise<number> {
    return this.navigation(() => this.press(target));
  }

  /** Opens or closes a `<details>` by its `<summary>`: no navigation. */
  async toggle(summary: Locator): Promise<void> {
    await this.press(summary);
  }

  /** Follows a download link; the download, once started. */
  async download(link: Locator): Promise<Download> {
    const started = this.page.waitForEvent('download');
    await this.press(link);
    return started;
  }

  private async press(target: Locator): Promise<void> {
    if (this.mode === 'pointer') return target.click();
    await this.tabTo(target);
    await this.page.keyboard.press('Enter');
  }

  /** Tab until `target` has the focus, checking that the focus is drawn there. */
  private async tabTo(target: Locator): Promise<void> {
    await target.waitFor();
    for (let presses = 0; presses <= MAX_TABS; presses++) {
      const focused = await target.evaluate((element: unknown) => element === (globalThis as unknown as PageGlobals).document.activeElement);
      if (focused) return assertVisibleFocus(this.page);
      await this.page.keyboard.press('Tab');
    }
    assert.fail(`${String(target)} was not reached with ${MAX_TABS} Tab presses on ${this.path}`);
  }

  /** Runs `act` and waits until the main frame has loaded the page it led to; that page's status. */
  private async navigation(act: () => Promise<void>): Promise<number> {
    const { page } = this;
    const statuses: number[] = [];
    const onResponse = (response: Response) => {
      if (response.frame() === page.mainFrame() && response.request().isNavigationRequest()) statuses.push(response.status());
    };
    page.on('response', onResponse);
    try {
      const committed = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
      await act().catch((error: unknown) => {
        committed.catch(() => undefined); // the wait is moot: the step itself failed
        throw error;
      });
      await committed;
      await page.waitForLoadState('load');
    } finally {
      page.off('response', onResponse);
    }
    const status = statuses.at(-1);
    assert.ok(status !== undefined, `no navigation response on ${this.path}`);
    return status;
  }
}
