import { runCliOnServer } from "./cli-servers.ts";

await runCliOnServer("postgres");
