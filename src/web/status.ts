/** How a connection's status reads in the dashboard: colour, label, and what to do. */
export interface StatusView {
  className: 'status-active' | 'status-failing' | 'status-reauth';
  label: string;
  advice: string | null;
}

/**
 * `canReauthenticate`: whether the viewer gets the Re-authenticate button; one who does not (the
 * connection is shared with them to use only) is told to ask its owner or an admin instead.
 */
export function statusView(status: string, canReauthenticate = true): StatusView {
  switch (status) {
    case 'refresh_failing':
      return { className: 'status-failing', label: 'Refresh failing', advice: 'Still working while the current access token lasts. Keyway keeps retrying; press Refresh to try now.' };
    case 'needs_reauth':
      return { className: 'status-reauth', label: 'Needs re-authentication', advice: canReauthenticate
        ? 'Calls through this connection fail until someone re-authenticates it: press Re-authenticate and approve access at the provider again.'
        : 'Calls through this connection fail until it is re-authenticated. It is shared with you to use only: ask its owner or an admin to re-authenticate it.' };
    default:
      return { className: 'status-active', label: 'Active', advice: null };
  }
}
