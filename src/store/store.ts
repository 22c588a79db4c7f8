import type { SqlExecutor } from './sql/executor.ts';
import { apiKeyRepo, dataKeyRepo, orgRepo } from './repos/orgs.ts';
import { memberRepo } from './repos/members.ts';
import { sessionRepo } from './repos/sessions.ts';
import { inviteRepo } from './repos/invites.ts';
import { loginLinkRepo, signInAttemptRepo } from './repos/sign-in.ts';
import { integrationRepo } from './repos/integrations.ts';
import { connectionRepo } from './repos/connections.ts';
import { connectAttemptRepo, connectSessionRepo } from './repos/connect.ts';
import { auditRepo } from './repos/audit.ts';
import { webhookRepo } from './repos/webhooks.ts';
import { appliedMigrations, migrate } from './migrate.ts';

const LOCK_IDS = { bootstrap: 7240302 } as const;

/** The store as every service sees it. One implementation over SQL; dialects differ only in the executor. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly orgs: ReturnType<typeof orgRepo>;
  readonly members: ReturnType<typeof memberRepo>;
  readonly apiKeys: ReturnType<typeof apiKeyRepo>;
  readonly dataKeys: ReturnType<typeof dataKeyRepo>;
  readonly integrations: ReturnType<typeof integrationRepo>;
  readonly connections: ReturnType<typeof connectionRepo>;
  readonly connectSessions: ReturnType<typeof connectSessionRepo>;
  readonly connectAttempts: ReturnType<typeof connectAttemptRepo>;
  readonly audit: ReturnType<typeof auditRepo>;
  readonly webhooks: ReturnType<typeof webhookRepo>;
  readonly sessions: ReturnType<typeof sessionRepo>;
  readonly invites: ReturnType<typeof inviteRepo>;
  readonly loginLinks: ReturnType<typeof loginLinkRepo>;
  readonly signInAttempts: ReturnType<typeof signInAttemptRepo>;
  migrate(now: number): Promise<number[]>;
  /** Migration ids applied to this database (read-only; `keyway doctor`). */
  appliedMigrations(): Promise<number[]>;
  /** Runs `fn` holding a lock shared by every process on this database (first-start bootstrap). */
  exclusive<T>(name: 'bootstrap', fn: () => Promise<T>): Promise<T>;
  /** Changes whenever another connection commits (SQLite's `data_version`); null where the database cannot tell. */
  dataVersion(): Promise<number | null>;
  close(): Promise<void>;
}

export function createSqlStore(sql: SqlExecutor): Store {
  return {
    kind: sql.dialect,
    orgs: orgRepo(sql),
    members: memberRepo(sql),
    apiKeys: apiKeyRepo(sql),
    dataKeys: dataKeyRepo(sql),
    integrations: integrationRepo(sql),
    connections: connectionRepo(sql),
    connectSessions: connectSessionRepo(sql),
    connectAttempts: connectAttemptRepo(sql),
    audit: auditRepo(sql),
    webhooks: webhookRepo(sql),
    sessions: sessionRepo(sql),
    invites: inviteRepo(sql),
    loginLinks: loginLinkRepo(sql),
    signInAttempts: signInAttemptRepo(sql),
    migrate: (now) => migrate(sql, now),
    appliedMigrations: () => appliedMigrations(sql),
    exclusive: (name, fn) => sql.exclusive(LOCK_IDS[name], fn),
    dataVersion: () => (sql.dataVersion ? sql.dataVersion() : Promise.resolve(null)),
    close: () => sql.close(),
  };
}
