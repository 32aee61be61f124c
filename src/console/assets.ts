/**
 * The console's stylesheet and its one script, served by the service itself: nothing is loaded
 * from elsewhere. The script only refreshes the home page's counts; every page reads without it.
 */

export const CONSOLE_CSS = `
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa;
  --accent: #0550ae; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --idle: #59636e;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #24292f; color: #fff; flex-wrap: wrap; }
header.top a { color: #fff; }
header.top .brand { font-weight: 600; font-size: 16px; }
header.top nav { display: flex; gap: 1rem; }
header.top form { margin-left: auto; display: flex; gap: .4rem; }
header.top input[type=search] { width: 22rem; max-width: 60vw; padding: .3rem .5rem; border-radius: 6px; border: 1px solid #57606a; }
main { padding: 1rem 1.5rem 3rem; max-width: 1280px; }
h1 { font-size: 20px; margin: .5rem 0 1rem; display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
h2 { font-size: 16px; margin: 1.6rem 0 .5rem; }
h2 small, h1 small { font-weight: normal; color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #fbfcfd; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; padding: .4rem 0; }
.tiles { display: flex; gap: .6rem; flex-wrap: wrap; margin: .3rem 0 1rem; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .8rem; min-width: 8.5rem; background: var(--soft); }
.tile .n { display: block; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; color: var(--fg); }
.tile.alert { border-color: var(--bad); background: #fff5f5; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: 12px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; background: #fff; }
.b-ok { color: var(--ok); } .b-warn { color: var(--warn); } .b-bad { color: var(--bad); }
.b-idle { color: var(--idle); } .b-info { color: var(--accent); }
.notice { padding: .6rem .9rem; border-radius: 6px; margin: .5rem 0 1rem; border: 1px solid; }
.notice.ok { background: #dafbe1; border-color: #4ac26b; }
.notice.bad { background: #ffebe9; border-color: #ff8182; }
.notice.warn { background: #fff8c5; border-color: #d4a72c; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; margin: 0 0 .5rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 2rem; }
form.inline { display: inline; margin: 0; }
button { font: inherit; padding: .25rem .7rem; border-radius: 6px; border: 1px solid var(--line); background: var(--soft); cursor: pointer; }
button:hover { border-color: var(--muted); }
button.danger { color: var(--bad); border-color: #ff8182; }
.pager { margin: .5rem 0; display: flex; gap: 1rem; }
.error-text { color: var(--bad); max-width: 36rem; overflow-wrap: anywhere; }
.data { color: var(--muted); max-width: 30rem; overflow-wrap: anywhere; }
`;

/** The console's icon, and the service's at /favicon.svg and /favicon.ico: a parcel. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect x="3" y="7" width="26" height="20" rx="3" fill="#1f6f5c"/>
<path d="M3 13h26M13 7v6M19 7v6" stroke="#e8f3ef" stroke-width="2"/>
</svg>
`;

/**
 * Once the page shows an action's message, the address loses the codes that carried it, so that a
 * reload does not say it again. Then, on the home page, the counts refresh every few seconds from
 * /admin/console/counts, their time written as the server writes it (24-hour, UTC).
 */
export const CONSOLE_JS = `
(function () {
  var query = new URLSearchParams(location.search);
  if (query.has('done')) {
    ['done', 'job', 'n', 'of'].forEach(function (name) { query.delete(name); });
    var rest = query.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  var root = document.querySelector('[data-live-counts]');
  if (!root) return;
  var url = root.getAttribute('data-live-counts');
  function set(selector, value) {
    var el = document.querySelector(selector);
    if (el && value !== undefined && value !== null) el.textContent = String(value);
  }
  function refresh() {
    if (document.visibilityState === 'hidden') return;
    fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (stats) {
        if (!stats) return;
        Object.keys(stats.ordersByStatus).forEach(function (s) { set('[data-count="' + s + '"]', stats.ordersByStatus[s]); });
        set('[data-count="stuck"]', stats.stuck);
        set('[data-count="total"]', stats.total);
        if (stats.failedJobs) Object.keys(stats.failedJobs).forEach(function (q) { set('[data-failed="' + q + '"]', stats.failedJobs[q]); });
        set('[data-refreshed]', new Date().toLocaleTimeString('en-GB', { timeZone: 'UTC' }) + ' UTC');
      })
      .catch(function () {});
  }
  setInterval(refresh, 3000);
})();
`;
