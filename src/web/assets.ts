import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Asset {
  type: string;
  body: string;
}

/** The dashboard's two static files, read once at start: no build step, served by Keyway itself. */
export function loadAssets(): Map<string, Asset> {
  const dir = join(import.meta.dirname, 'assets');
  return new Map([
    ['dashboard.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'dashboard.js'), 'utf8') }],
    ['dashboard.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'dashboard.css'), 'utf8') }],
  ]);
}
