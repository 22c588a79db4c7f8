/** How a connection's status reads in the dashboard: colour, label, and what to do. */
export interface StatusView {
  className: 'status-active' | 'status-failing' | 'status-reauth';
  label: string;
  advice: string | null;
}

export function statusView(status: string): StatusView {
  switch (status) {
    case 'refresh_failing':
      return { className: 'status-failing', label: 'Refresh failing', advice: 'Still working while the current access token lasts. Keyway keeps retrying; press Refresh to try now.' };
    case 'needs_reauth':
      return { className: 'status-reauth', label: 'Needs re-authentication', advice: 'Calls through this connection fail until someone re-authenticates it: press Re-authenticate and approve access at the provider again.' };
    default:
      return { className: 'status-active', label: 'Active', advice: null };
  }
}
