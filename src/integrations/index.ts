export { type IntegrationInput, IntegrationService, type IntegrationServiceDeps } from './service.ts';
