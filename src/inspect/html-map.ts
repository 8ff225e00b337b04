// The page map as one self-contained HTML page: no network, no CDN. The data (compactMap)
// and the drawing code (html-client.ts, embedded as source) are inlined in one <script>.

import type { HeapMap } from './pages.js';
import { MAP_CSS, compactMap, mapClient, type MapData } from './html-client.js';

/** JSON safe inside a <script> element: no "</script", no "<!--". */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The <head> contents and the client code every map page shares. */
export function mapPageParts(title: string): { head: string; client: string } {
  return {
    head: `<meta charset="utf-8"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><style>${MAP_CSS}</style>`,
    client: `const compactMap = ${compactMap.toString()};\nconst mapClient = ${mapClient.toString()};\n`,
  };
}

export function renderHtmlMap(map: HeapMap, title = 'bibop heap map', subtitle = ''): string {
  const data: MapData = compactMap(map, title, subtitle);
  const { head, client } = mapPageParts(title);
  return `<!doctype html>
<html lang="en">
<head>${head}</head>
<body>
<div id="app"></div>
<script>
${client}
window.bibopMap = { data: ${scriptJson(data)} };
window.bibopMap.update = mapClient(document.getElementById('app'), window.bibopMap.data);
</script>
</body>
</html>
`;
}
