/**
 * GET /: where a person or a script starting at the service's root finds its way: the API
 * reference, the operations console, health, metrics and the OpenAPI description. HTML for a
 * browser, JSON for a client that asks for it.
 */
import { Hono } from 'hono';
import { accepts } from 'hono/accepts';
import type { AppEnv } from './router.ts';

export interface IndexLink {
  href: string;
  title: string;
}

export interface IndexPaths {
  docs: string;
  openapi: string;
  admin: string;
  /** The console's stylesheet, served without credentials, so that / looks like the console. */
  stylesheet?: string;
}

function indexLinks(paths: IndexPaths): IndexLink[] {
  return [
    { href: paths.docs, title: 'API reference' },
    { href: paths.openapi, title: 'OpenAPI description of the API' },
    { href: paths.admin, title: 'Operations console (admin token)' },
    { href: '/healthz', title: 'Liveness' },
    { href: '/readyz', title: 'Readiness: the database and Redis answer' },
    { href: '/metrics', title: 'Prometheus metrics' },
  ];
}

/** Loads only the stylesheet and the icon, from the service itself. */
const INDEX_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const escapeHtml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function page(title: string, links: IndexLink[], stylesheet: string | undefined): string {
  const items = links.map(
    (l) =>
      `<tr><td><a class="mono" href="${escapeHtml(l.href)}">${escapeHtml(l.href)}</a></td><td>${escapeHtml(l.title)}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${stylesheet ? `<link rel="stylesheet" href="${escapeHtml(stylesheet)}">\n` : ''}<link rel="icon" type="image/svg+xml" href="/favicon.svg">
</head>
<body>
<header class="top"><a class="brand" href="/">${escapeHtml(title)}</a></header>
<main>
<h1>${escapeHtml(title)}</h1>
<table>
<tbody>
${items.join('\n')}
</tbody>
</table>
</main>
</body>
</html>
`;
}

export function indexRoutes(options: { title: string; paths: IndexPaths }) {
  const app = new Hono<AppEnv>();
  const links = indexLinks(options.paths);
  app.get('/', (c) => {
    c.header('Vary', 'Accept');
    const type = accepts(c, { header: 'Accept', supports: ['text/html', 'application/json'], default: 'text/html' });
    if (type === 'application/json') return c.json({ service: options.title, links });
    c.header('Content-Security-Policy', INDEX_CSP);
    return c.html(page(options.title, links, options.paths.stylesheet));
  });
  return app;
}
