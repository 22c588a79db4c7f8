export { type IntegrationInput, type IntegrationPatch, IntegrationService, type IntegrationServiceDeps } from './service.ts';
