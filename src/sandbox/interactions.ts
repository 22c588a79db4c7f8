/**
 * The sandbox's login and consent pages (oidc-provider "interactions"), served at
 * `{prefix}/interaction/:uid` and posting to `{prefix}/interaction/:uid/login|confirm`.
 * Any user name signs in; its account id is the user name. Deny on the consent page ends the
 * authorization with `access_denied` at the client's redirect URI (RFC 6749 §4.1.2.1).
 *
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#user-flows
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';

import { BodyTooLarge, readForm, sendHtml } from './http.ts';
import { SANDBOX_SCOPES } from './provider.ts';
import { consentPage, loginPage, messagePage } from './views.ts';

const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;
const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?\/?$/;

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

export type InteractionHandler = (req: IncomingMessage, res: ServerResponse, route: string) => Promise<void>;

export function createInteractionHandler(provider: Provider, prefix: string): InteractionHandler {
  const actionFor = (uid: string, step: 'login' | 'confirm'): string =>
    `${prefix}/interaction/${encodeURIComponent(uid)}/${step}`;

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? String(clientId);
  }

  async function show(res: ServerResponse, interaction: Interaction): Promise<void> {
    const name = await clientName(interaction.params.client_id);
    if (interaction.prompt.name === 'login') {
      sendHtml(res, 200, loginPage({ action: actionFor(interaction.uid, 'login'), clientName: name }));
      return;
    }
    if (interaction.prompt.name === 'consent') {
      sendHtml(res, 200, consentPage({
        action: actionFor(interaction.uid, 'confirm'),
        clientName: name,
        accountId: interaction.session?.accountId ?? '',
        scopes: requestedScopes(interaction),
      }));
      return;
    }
    sendHtml(res, 400, messagePage('Unsupported step', `The sandbox cannot handle "${interaction.prompt.name}".`));
  }

  async function login(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const username = (await readForm(req)).get('username')?.trim() ?? '';
    if (interaction.prompt.name !== 'login') {
      sendHtml(res, 400, messagePage('Wrong step', 'This request is not waiting for a sign-in.'));
      return;
    }
    if (!USERNAME.test(username)) {
      const error = 'Use 1 to 64 letters, digits, dots, dashes or underscores.';
      const name = await clientName(interaction.params.client_id);
      sendHtml(res, 400, loginPage({ action: actionFor(interaction.uid, 'login'), clientName: name, error }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }

  async function confirm(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const decision = (await readForm(req)).get('decision');
    if (interaction.prompt.name !== 'consent' || !interaction.session) {
      sendHtml(res, 400, messagePage('Wrong step', 'This request is not waiting for consent.'));
      return;
    }
    if (decision !== 'allow') {
      const result = { error: 'access_denied', error_description: 'End-User denied the authorization request' };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: interaction.session.accountId, clientId: String(interaction.params.client_id) });
    if (!grant) throw new errors.SessionNotFound('grant not found');
    grant.addOIDCScope(requestedScopes(interaction));
    const missingClaims = interaction.prompt.details.missingOIDCClaims;
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims.map(String));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return async function handleInteraction(req, res, route) {
    const match = ROUTE.exec(route.split('?')[0] ?? '');
    const step = match?.[2];
    const expectedMethod = step ? 'POST' : 'GET';
    if (!match || req.method !== expectedMethod) {
      sendHtml(res, 404, messagePage('Not found', 'There is no such page in the sandbox.'));
      return;
    }
    try {
      const interaction = await provider.interactionDetails(req, res);
      if (interaction.uid !== match[1]) throw new errors.SessionNotFound('interaction mismatch');
      if (step === 'login') await login(req, res, interaction);
      else if (step === 'confirm') await confirm(req, res, interaction);
      else await show(res, interaction);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) {
        sendHtml(res, 400, messagePage('Sign-in expired', 'This sign-in request expired or was already used. Start again from the application.'));
      } else if (err instanceof BodyTooLarge) {
        sendHtml(res, 413, messagePage('Too large', 'The form is too large.'));
      } else {
        throw err;
      }
    }
  };
}

/** The supported scopes the client asked for, in the order it asked. */
function requestedScopes(interaction: Interaction): string[] {
  const requested = typeof interaction.params.scope === 'string' ? interaction.params.scope.split(' ') : [];
  return [...new Set(requested.filter((scope) => SANDBOX_SCOPES.includes(scope)))];
}
