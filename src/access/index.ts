export * from './api-keys.ts';
export * from './bootstrap.ts';
