import { CONSOLE_SCRIPT_CASCADE } from './console-script-cascade.js';
import { CONSOLE_SCRIPT_CORE } from './console-script-core.js';
import { CONSOLE_SCRIPT_OPS } from './console-script-ops.js';
import { CONSOLE_SCRIPT_OVERVIEW } from './console-script-overview.js';
import { CONSOLE_SCRIPT_PAIRS } from './console-script-pairs.js';

// The operator console's script and stylesheet, served as same-origin assets so the page runs under
// a strict Content-Security-Policy (no inline script or style). The script is one closure put
// together from its parts (helpers, overview, pairs, the models view's cascade card, jobs and models).

export const CONSOLE_SCRIPT = `(function () {\n  'use strict';\n${CONSOLE_SCRIPT_CORE}${CONSOLE_SCRIPT_OVERVIEW}${CONSOLE_SCRIPT_PAIRS}${CONSOLE_SCRIPT_CASCADE}${CONSOLE_SCRIPT_OPS}})();\n`;

export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6577; --line: #dde2ea; --accent: #3b6fd4; --bad: #b3261e; }
* { box-sizing: border-box; }
html, body { max-width: 100%; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fb; }
header { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; padding: 12px 18px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0 8px 0 0; }
nav { display: flex; flex-wrap: wrap; gap: 6px; }
nav button { background: #fff; color: var(--ink); border-color: var(--line); }
nav button[aria-current="page"] { background: var(--accent); color: #fff; border-color: var(--accent); }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.controls[hidden], #range-custom[hidden] { display: none; }
.window, .muted, .meta { color: var(--muted); }
main { padding: 14px 18px; display: grid; gap: 14px; min-width: 0; }
.view { display: grid; gap: 14px; min-width: 0; }
.view[hidden] { display: none; }
.status { min-height: 1.4em; color: var(--muted); overflow-wrap: anywhere; }
.status.error, .error { color: var(--bad); }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
form[hidden] { display: none; }
label { display: inline-flex; gap: 6px; align-items: center; flex-wrap: wrap; }
input, select, button, textarea { font: inherit; padding: 5px 9px; border: 1px solid var(--line); border-radius: 6px; background: #fff; max-width: 100%; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.danger { background: var(--bad); border-color: var(--bad); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 14px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px; min-width: 0; }
.card h2, .card h3 { margin: 0 0 8px; font-size: 15px; }
.chart-box { position: relative; height: 280px; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
td.text { white-space: normal; min-width: 12em; max-width: 28em; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; }
tr.clickable { cursor: pointer; }
tr.clickable:hover, tr.clickable:focus { background: #eef3fc; outline: none; }
tr.verdict-disagree td:nth-child(6) { color: var(--bad); font-weight: 600; }
tr.state-promoted td:nth-child(2) { color: #2e7d4f; font-weight: 600; }
.side-by-side { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr)); gap: 14px; }
.answer, .message { white-space: pre-wrap; overflow-wrap: anywhere; }
.answer mark { background: #ffe3a3; }
.message + .message { margin-top: 6px; }
progress { width: 120px; max-width: 100%; vertical-align: middle; }
#job-progress { width: 100%; }
dl { margin: 0; display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: 4px 12px; }
dt { font-weight: 600; }
dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 12px; }
ol.log { margin: 0; padding-left: 20px; font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
.log-error { color: var(--bad); }
.log-warn { color: #8a5a00; }
dialog { border: 1px solid var(--line); border-radius: 10px; max-width: min(92vw, 480px); }
dialog::backdrop { background: rgba(20, 30, 50, .35); }
dialog .actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 12px; }
@media (max-width: 600px) {
  header, main { padding: 10px; }
  .chart-box { height: 230px; }
}
`;
