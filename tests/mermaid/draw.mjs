// Mermaid's own parser and mermaid-cli's drawing, in one Chromium (tests/test_offline_topology.py).
// Usage: node draw.mjs PUPPETEER_CONFIG MARKDOWN OUT [FILE...]
// Parses every FILE in a page of the browser (as GitHub's renderer parses before drawing): one line per
// FILE, "FILE: OK" or "FILE: <the parser's error>". Then draws every ```mermaid block of MARKDOWN as
// `mmdc -p PUPPETEER_CONFIG -i MARKDOWN -o OUT -e svg -q` does (mermaid-cli's own `run`, with the
// defaults of its command line), into OUT-1.svg, OUT-2.svg... Exits 1 if a drawing fails.
// One browser for both: a second Node process with jsdom for the parse cost ~3 s of CPU.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer';
import { run } from '@mermaid-js/mermaid-cli';

const [configFile, markdown, out, ...files] = process.argv.slice(2);
// `mmdc`'s launch options: headless "shell", then the config file's (src/index.js, cli()).
const browser = await puppeteer.launch({ headless: 'shell', ...JSON.parse(fs.readFileSync(configFile, 'utf8')) });
try {
  const page = await browser.newPage();
  // The browser build of the same mermaid package mermaid-cli draws with (a global `mermaid`).
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js') });
  const verdicts = await page.evaluate(async (texts) => {
    mermaid.initialize({ startOnLoad: false });
    const found = [];
    for (const text of texts) {
      try {
        await mermaid.parse(text);
        found.push('OK');
      } catch (error) {
        found.push(String(error.message || error).split('\n').slice(0, 4).join(' | '));
      }
    }
    return found;
  }, files.map((file) => fs.readFileSync(file, 'utf8')));
  await page.close();
  files.forEach((file, index) => console.log(`${file}: ${verdicts[index]}`));

  // `mmdc`'s defaults (src/index.js, cli()): theme, page size, scale and background.
  await run(markdown, out, {
    browser, quiet: true, outputFormat: 'svg',
    parseMMDOptions: {
      mermaidConfig: { theme: 'default' }, backgroundColor: 'white',
      viewport: { width: 800, height: 600, deviceScaleFactor: 1 }, iconPacks: [], iconPacksNamesAndUrls: [],
    },
  });
} finally {
  await browser.close();
}
