/**
 * The API reference at /docs: Swagger UI, served whole from this service (its files come from the
 * pinned swagger-ui-dist package), so that it renders on a machine without internet. The page
 * and its assets may load nothing but this service's own files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono, type Context } from 'hono';
import type { AppEnv } from './router.ts';

/** Only this service's own files; images may also be the data: URIs of Swagger UI's icons. */
const REFERENCE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Asset URLs carry a digest of their content, so they may be cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

// Our own start-up script: a CSP without 'unsafe-inline' forbids an inline one.
const INIT_SCRIPT = `// Renders the description named by #swagger-ui's data-openapi with Swagger UI.
(function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-openapi'),
    dom_id: '#swagger-ui',
    deepLinking: true,
    // The default asks validator.swagger.io about the description: nothing leaves this service.
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
  });
})();
`;

interface Asset {
  name: string;
  type: string;
  body: Uint8Array;
  digest: string;
}

interface Assets {
  version: string;
  byName: Map<string, Asset>;
  url: (name: string) => string;
}

const require = createRequire(import.meta.url);

function asset(name: string, type: string, body: Uint8Array): Asset {
  return { name, type, body, digest: createHash('sha256').update(body).digest('hex').slice(0, 16) };
}

let loaded: Assets | undefined;

/** Read once, on the first request for the page or a file (some 2 MB, kept in memory). */
function assets(basePath: string): Assets {
  if (loaded) return loaded;
  const dist = dirname(require.resolve('swagger-ui-dist/package.json'));
  const { version } = JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8')) as { version: string };
  const list = [
    asset('swagger-ui-bundle.js', 'text/javascript; charset=utf-8', readFileSync(join(dist, 'swagger-ui-bundle.js'))),
    asset('swagger-ui.css', 'text/css; charset=utf-8', readFileSync(join(dist, 'swagger-ui.css'))),
    asset('favicon-32x32.png', 'image/png', readFileSync(join(dist, 'favicon-32x32.png'))),
    asset('init.js', 'text/javascript; charset=utf-8', new TextEncoder().encode(INIT_SCRIPT)),
  ];
  const byName = new Map(list.map((a) => [a.name, a]));
  loaded = { version, byName, url: (name) => `${basePath}/assets/${byName.get(name)!.digest}/${name}` };
  return loaded;
}

const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function page(a: Assets, options: ReferenceOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeAttr(options.title)}</title>
<link rel="icon" type="image/png" href="${a.url('favicon-32x32.png')}">
<link rel="stylesheet" href="${a.url('swagger-ui.css')}">
</head>
<body>
<noscript><p>This reference needs JavaScript. The description itself is at <a href="${escapeAttr(options.specUrl)}">${escapeAttr(options.specUrl)}</a>.</p></noscript>
<div id="swagger-ui" data-openapi="${escapeAttr(options.specUrl)}"></div>
<script src="${a.url('swagger-ui-bundle.js')}"></script>
<script src="${a.url('init.js')}"></script>
</body>
</html>
`;
}

export interface ReferenceOptions {
  /** Where the OpenAPI description is served, e.g. /openapi.json. */
  specUrl: string;
  title: string;
}

/** The reference page at `basePath` and its files under `basePath/assets/<digest>/<name>`. */
export function apiReference(basePath: string, options: ReferenceOptions) {
  const app = new Hono<AppEnv>();
  const secure = (c: Context) => c.header('Content-Security-Policy', REFERENCE_CSP);

  app.get('/', (c) => {
    secure(c);
    c.header('Cache-Control', 'no-cache');
    return c.html(page(assets(basePath), options));
  });

  app.get('/assets/:digest/:name', (c) => {
    const found = assets(basePath).byName.get(c.req.param('name'));
    // An old digest still gets today's file, but not for good: it may have changed.
    if (!found) return c.notFound();
    secure(c);
    c.header('Cache-Control', found.digest === c.req.param('digest') ? IMMUTABLE : 'no-cache');
    c.header('Content-Type', found.type);
    return c.body(found.body as Uint8Array<ArrayBuffer>);
  });

  return app;
}
