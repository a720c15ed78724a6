// Parse Mermaid diagrams with Mermaid's own parser, as GitHub's renderer does before drawing.
// Usage: node parse.mjs FILE...   Prints one line per file ("OK" or the parser's error); exits 1 on any error.
// With Chromium, tests/mermaid/draw.mjs parses in the browser that draws the pictures instead (no jsdom).
import fs from 'node:fs';
import { JSDOM } from 'jsdom';

// Mermaid sanitises labels with DOMPurify, which needs a DOM; jsdom is enough to parse (not to lay out).
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(file, 'utf8'));
    console.log(`${file}: OK`);
  } catch (error) {
    failed += 1;
    console.log(`${file}: ${String(error.message || error).split('\n').slice(0, 4).join(' | ')}`);
  }
}
process.exit(failed ? 1 : 0);
