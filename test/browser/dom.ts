/**
 * The little of the DOM that page functions touch. The project's tsconfig has no DOM lib
 * (everything else runs in Node), so a page function reaches the page's globals as
 * `globalThis as unknown as PageGlobals`: types only, stripped before Playwright sends
 * the function's source to the browser.
 */
export interface PageElement {
  readonly tagName: string;
  readonly outerHTML: string;
  readonly labels?: { readonly length: number } | null;
  value?: string;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  closest(selector: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
}

export interface PageDocument {
  readonly activeElement: PageElement | null;
  readonly documentElement: PageElement;
  readonly title: string;
  querySelectorAll(selector: string): Iterable<PageElement>;
}

export interface PageComputedStyle {
  readonly outlineStyle: string;
  readonly outlineWidth: string;
  readonly boxShadow: string;
}

/** What axe-core's `run` answers, as far as the suite reads it. */
export interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

export interface PageGlobals {
  document: PageDocument;
  getComputedStyle(element: PageElement): PageComputedStyle;
  axe?: { run(context: PageDocument, options: { resultTypes: string[] }): Promise<{ violations: AxeViolation[] }> };
}
