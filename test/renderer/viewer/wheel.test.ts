/**
 * What a wheel turn over the viewer does (renderer/src/viewer/wheel.ts): in a page that scrolls,
 * a plain wheel scrolls it; Ctrl/⌘ (and a trackpad pinch, which browsers send with Ctrl) or a
 * focused viewer zoom; a viewer filling a page that cannot scroll zooms on a plain wheel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrollsVertically, wheelZooms } from '../../../renderer/src/viewer/wheel.ts';

const plain = { ctrlKey: false, metaKey: false };

test('in a page that scrolls, a plain wheel over an unfocused viewer scrolls the page', () => {
  assert.equal(wheelZooms(plain, { focused: false, pageScrolls: true }), false);
});

test('Ctrl or ⌘ with the wheel (or a pinch) zooms wherever the viewer is', () => {
  for (const pageScrolls of [true, false]) {
    assert.equal(wheelZooms({ ctrlKey: true, metaKey: false }, { focused: false, pageScrolls }), true);
    assert.equal(wheelZooms({ ctrlKey: false, metaKey: true }, { focused: false, pageScrolls }), true);
  }
});

test('a viewer that was clicked or tabbed to zooms on a plain wheel', () => {
  assert.equal(wheelZooms(plain, { focused: true, pageScrolls: true }), true);
});

test('a viewer in a page that cannot scroll (the Upscale view) zooms on a plain wheel', () => {
  assert.equal(wheelZooms(plain, { focused: false, pageScrolls: false }), true);
});

test('a box scrolls when it is allowed to and its content is taller than it', () => {
  assert.equal(scrollsVertically({ scrollHeight: 2000, clientHeight: 700, overflowY: 'auto' }), true);
  assert.equal(scrollsVertically({ scrollHeight: 2000, clientHeight: 700, overflowY: 'scroll' }), true);
  assert.equal(scrollsVertically({ scrollHeight: 2000, clientHeight: 700, overflowY: 'hidden' }), false);
  assert.equal(scrollsVertically({ scrollHeight: 2000, clientHeight: 700, overflowY: 'visible' }), false);
  assert.equal(scrollsVertically({ scrollHeight: 700, clientHeight: 700, overflowY: 'auto' }), false);
  // A pixel of rounding is not a page to scroll.
  assert.equal(scrollsVertically({ scrollHeight: 701, clientHeight: 700, overflowY: 'auto' }), false);
});
