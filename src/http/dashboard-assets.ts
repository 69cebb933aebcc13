// The dashboard grew into the operator console (console-assets.ts); the asset names stay, so the
// routes and bookmarks of the dashboard keep working.
export { CONSOLE_CSS as DASHBOARD_CSS, CONSOLE_SCRIPT as DASHBOARD_SCRIPT } from './console-assets.js';
