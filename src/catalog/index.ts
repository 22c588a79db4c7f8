export { Catalog, type ProviderQuery } from './catalog.ts';
export { BUILTIN_PROVIDERS_DIR, loadDefinitionsFromDir, parseDefinition } from './load.ts';
export { type ConnectionValues, type EndpointConfig, type ResolvedProvider, resolveProvider } from './resolve.ts';
export { canFill, fillTemplate, hasTemplates, callbackValues, injectCredential, keptValues, pickPath, placeholdersOf, userinfoRequest, validateConnectionParams } from './templates.ts';
export { type Grant, type ProviderDefinition, providerSchema } from './schema.ts';
export { type IdTokenIssuerInput, type ProviderHooks, QUIRKS, hooksFor } from './quirks/index.ts';
export { DOCS_COMMAND, providerNotes, renderProvidersMarkdown } from './docs.ts';
