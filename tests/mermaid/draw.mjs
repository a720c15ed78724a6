// Mermaid's own parser and Mermaid's drawing, in one page of one Chromium (tests/test_offline_topology.py).
// Usage: node draw.mjs PUPPETEER_CONFIG MARKDOWN OUT [FILE...]
// Parses every FILE in a page of the browser (as GitHub's renderer parses before drawing): one line per
// FILE, "FILE: OK" or "FILE: <the parser's error>". Then, in the same page, draws every ```mermaid block
// of MARKDOWN into OUT-1.svg, OUT-2.svg... as `mmdc -p PUPPETEER_CONFIG -i MARKDOWN -o OUT -e svg -q`
// would: mermaid-cli's renderMermaid (src/index.js) with the defaults of its command line, minus the
// fonts and extra layouts no flowchart here uses. Exits 1 if a drawing fails.
// Why not mermaid-cli's `run`: it opens a page per picture and loads Mermaid, ELK, ZenUML, Font Awesome
// and KaTeX into each, ~3.5 s of CPU for three pictures; one page with Mermaid loaded once draws the same
// SVG, byte for byte (compared for prod's topology and both change pictures with mermaid-cli 11.17.0).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import puppeteer from 'puppeteer';

const [configFile, markdown, out, ...files] = process.argv.slice(2);
const require = createRequire(import.meta.url);
// The package mermaid-cli draws with, and the module build of it mermaid-cli imports (mermaid.esm.mjs):
// it loads only the diagram types a page uses, where the one-file browser build compiles them all.
const mermaidDist = path.dirname(require.resolve('mermaid/dist/mermaid.esm.mjs'));
// mermaid-cli's page (an empty #container) and its interception of module requests: a module cannot
// be imported from a file: page by a file: URL (src/puppeteerIntercept.js).
const pageHtml = new URL('node_modules/@mermaid-js/mermaid-cli/dist/index.html', import.meta.url).href;
const ORIGIN = 'https://mermaid-cli-intercept.invalid/';

// `mmdc`'s launch options: headless "shell", then the config file's (src/index.js, cli()).
const browser = await puppeteer.launch({ headless: 'shell', ...JSON.parse(fs.readFileSync(configFile, 'utf8')) });
try {
  const page = await browser.newPage();
  // `mmdc`'s defaults (src/index.js, cli()): page size and scale, then the background.
  await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 1 });
  await page.goto(pageHtml);
  await page.$eval('body', (body) => { body.style.background = 'white'; });
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (!request.url().startsWith(ORIGIN)) return request.continue();
    const file = path.resolve(mermaidDist, request.url().slice(ORIGIN.length));
    if (!file.startsWith(mermaidDist + path.sep)) return request.abort();
    return request.respond({ status: 200, contentType: 'application/javascript', body: fs.readFileSync(file),
                             headers: { 'Access-Control-Allow-Origin': '*' } });
  });
  await page.evaluate(async (module) => { window.mermaid = (await import(module)).default; },
                      `${ORIGIN}mermaid.esm.mjs`);

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
  files.forEach((file, index) => console.log(`${file}: ${verdicts[index]}`));

  // mermaid-cli's `run`: its pattern for a ```mermaid block of a Markdown file, and its file names.
  const blocks = [...fs.readFileSync(markdown, 'utf8').matchAll(
    /^[^\S\n]*[`:]{3}(?:mermaid)([^\S\n]*\r?\n([\s\S]*?))[`:]{3}[^\S\n]*$/gm)].map((match) => match[2]);
  // mermaid-cli's renderMermaid: mermaid.render into #container, the background on the SVG, and the
  // SVG serialised as XML (its HTML labels are not valid XML as the DOM writes them).
  const svgs = await page.$eval('#container', async (container, blocks) => {
    mermaid.initialize({ startOnLoad: false, theme: 'default' });
    const drawn = [];
    for (const definition of blocks) {
      const { svg: svgText } = await mermaid.render('my-svg', definition, container);
      container.innerHTML = svgText;
      const svg = container.getElementsByTagName('svg')[0];
      svg.style.backgroundColor = 'white';
      drawn.push(new XMLSerializer().serializeToString(svg));
      container.innerHTML = '';
    }
    return drawn;
  }, blocks);
  svgs.forEach((svg, index) => fs.writeFileSync(out.replace(/\.(md|markdown)$/, `-${index + 1}.svg`), svg));
} finally {
  await browser.close();
}
