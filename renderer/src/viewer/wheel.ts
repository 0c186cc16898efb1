/**
 * What a wheel turn over the viewer does. In a page that scrolls, a plain wheel scrolls the page
 * (a viewer the page scrolls past must not catch the wheel); the image zooms with Ctrl/⌘ held
 * (which is also how browsers report a trackpad pinch) or once the viewer has been clicked or
 * tabbed to. A viewer that fills a page that cannot scroll zooms on a plain wheel, as before.
 */
export interface WheelKeys {
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
}

export interface WheelPlace {
  /** The viewer has the keyboard focus (it was clicked or tabbed to). */
  readonly focused: boolean;
  /** Some element around the viewer can be scrolled vertically. */
  readonly pageScrolls: boolean;
}

export function wheelZooms(keys: WheelKeys, place: WheelPlace): boolean {
  return keys.ctrlKey || keys.metaKey || place.focused || !place.pageScrolls;
}

/** The part of an element's box and style that says whether the user can scroll it vertically. */
export interface ScrollBox {
  readonly scrollHeight: number;
  readonly clientHeight: number;
  readonly overflowY: string;
}

/** Content taller than the box (by more than a pixel of rounding) in a box that scrolls. */
export function scrollsVertically(b: ScrollBox): boolean {
  return (
    (b.overflowY === 'auto' || b.overflowY === 'scroll' || b.overflowY === 'overlay') &&
    b.scrollHeight > b.clientHeight + 1
  );
}

/** Whether any element around `el` (up to the document) can be scrolled vertically. */
export function pageScrollsAround(el: Element): boolean {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const y = getComputedStyle(node).overflowY;
    // The document itself scrolls with overflow "visible" too; other elements only with auto or scroll.
    const root = node === document.documentElement || node === document.body;
    const overflowY = root && y === 'visible' ? 'auto' : y;
    if (scrollsVertically({ scrollHeight: node.scrollHeight, clientHeight: node.clientHeight, overflowY })) return true;
  }
  return false;
}
