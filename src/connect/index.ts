export { ATTEMPT_TTL_MS, BINDING_COOKIE_PREFIX, ConnectService, type ConnectServiceDeps, type NewSessionInput, SESSION_TTL_MS, type StartedAttempt } from './service.ts';
export { type CallbackDeps, completeAttempt } from './callback.ts';
export { type ConnectFailure, type ConnectOutcome, type ConnectProblem, type ConnectSuccess, PROBLEM_TEXT } from './outcome.ts';
