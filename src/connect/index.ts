export { ATTEMPT_TTL_MS, BINDING_COOKIE_PREFIX, ConnectService, type ConnectServiceDeps, type NewSessionInput, SESSION_TTL_MS, type StartedAttempt, type StartedSession } from './service.ts';
export { type CallbackDeps, completeAttempt } from './callback.ts';
export { type ConnectFailure, type ConnectOutcome, type ConnectProblem, type ConnectSuccess, PROBLEM_TEXT } from './outcome.ts';
export { ConnectionService } from './connections.ts';
export { type NewConnectionInput } from './credentials.ts';
export { type DisconnectOutcome, type RevocationResult } from './disconnect.ts';
export { DevicePoller, type DevicePollerDeps } from './device-poller.ts';
export { OAUTH21_REFUSAL, REFUSED_GRANTS, type RefusedGrant, isRefusedGrant } from './grants.ts';
