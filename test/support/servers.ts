import { Socket } from "node:net";

/** The database servers the integration tests use, on loopback (PostgreSQL trusts `postgres`, MariaDB `root` without password). */
export const SERVERS = {
  postgres: { host: "127.0.0.1", port: 5432, user: "postgres", password: "", database: "test" },
  mariadb: { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "test" },
} as const;

/** The databases the ORM suites run on. */
export type DatabaseName = "sqlite" | "postgres" | "mariadb";

/**
 * Why the `suite` tests on `name` are skipped (its server unreachable), or undefined to run them;
 * SQLite is embedded and always runs. Under CI=true an unreachable server is a failure, not a skip.
 */
export async function serverSkip(name: DatabaseName, suite: string): Promise<string | undefined> {
  if (name === "sqlite") return undefined;
  const { host, port } = SERVERS[name];
  if (await canConnect(host, port)) return undefined;
  const reason = `${name} is not reachable on ${host}:${port}`;
  if (process.env.CI === "true") throw new Error(`${reason}, and CI=true: a missing server is a failure, not a skip.`);
  console.warn(`\n⚠️  SKIPPING the ${suite} ${name} tests: ${reason}. Start the server to run them.\n`);
  return reason;
}

/** A random name suffix: no two tests share a table, schema or database. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}
