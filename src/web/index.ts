export { type ApiGet, type ApiAnswer, type Json, ok } from './api.ts';
export { loadAssets } from './assets.ts';
export { type Html, html } from './html.ts';
export { ASSET_PATH, DASHBOARD_CSP, type Viewer, layout } from './layout.ts';
export { integrationsPage, connectionItem } from './pages/integrations.ts';
export { addIntegrationPage } from './pages/add-integration.ts';
export { keysPage } from './pages/keys.ts';
export { AUDIT_FILTERS, type AuditFilters, auditPage } from './pages/audit.ts';
export { signInPage } from './pages/sign-in.ts';
