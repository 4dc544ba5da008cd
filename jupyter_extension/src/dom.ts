/** A tiny DOM builder, so panel code reads as the markup it produces. */

type Child = Node | string | null | undefined | false;

/**
 * Create an element with attributes (or event handlers, for `on*` keys) and children.
 *
 * Text is always inserted as text nodes, never as HTML, so notebook content cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, any> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'className') {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(key, '');
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Replace every child of `node` with `children`. */
export function replace(node: HTMLElement, ...children: Child[]): void {
  node.replaceChildren();
  for (const child of children) {
    if (child) {
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
  }
}
