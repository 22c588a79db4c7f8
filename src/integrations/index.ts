export { type IntegrationInput, type IntegrationPatch, IntegrationService, type IntegrationServiceDeps, noIntegration } from './service.ts';
