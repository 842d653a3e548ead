/**
 * The element with this id, checked to be of the expected kind: the page and this script are shipped
 * together, so a missing or different element is a bug, reported at once rather than as a later `null`.
 */
export function byId<T extends HTMLElement = HTMLElement>(
  id: string,
  kind: abstract new () => T = HTMLElement as unknown as abstract new () => T,
): T {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`chat page: #${id} is missing or not a ${kind.name}`);
  return el;
}

/** The first descendant matching `selector`, which the page's own markup guarantees. */
export function child(parent: Element, selector: string): HTMLElement {
  const el = parent.querySelector(selector);
  if (!(el instanceof HTMLElement)) throw new Error(`chat page: ${selector} not found`);
  return el;
}

/** A value for people: strings as they are, anything else as indented JSON. */
export function pretty(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** A caught value's message, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
