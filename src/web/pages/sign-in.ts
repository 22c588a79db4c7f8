import { type Html, html } from '../html.ts';

/** The page for someone not signed in: how to get a one-time link, and single sign-on when configured. */
export function signInPage(sso: boolean, returnTo: string, left = false): Html {
  return html`${left ? html`<p role="status"><strong>You left the organization and are signed out here. To sign in again (to another organization you belong to), follow the steps below.</strong></p>` : ''}<h1>Sign in to Keyway</h1>
${sso ? html`<p><a class="button primary" href="/auth/login?return_to=${encodeURIComponent(returnTo)}">Sign in with single sign-on</a></p><p>Or use a one-time link:</p>` : ''}
<p>Ask an operator of this Keyway to run</p>
<pre><code>npx keyway login-link --email you@example.com</code></pre>
<p>It prints a sign-in link that works once, for 15 minutes. Open it in this browser and press <strong>Sign in</strong>; then come back here.</p>`;
}
