// A small Nest app with Koper: `npm run example:nestjs` serves on PORT (default 3000);
// with `--demo` it places three orders against itself, then shuts down gracefully.
import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import { AppModule } from "./app.module.ts";

const app = await NestFactory.create(AppModule, { logger: ["error", "warn"] });
app.enableShutdownHooks(); // SIGTERM → HTTP closes → koper.stop() drains → TypeORM closes
await app.listen(process.argv.includes("--demo") ? 0 : Number(process.env.PORT ?? 3000));
const url = await app.getUrl();

if (process.argv.includes("--demo")) {
  const place = (user: string, number: string) =>
    fetch(`${url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-user": user, "x-request-id": `req-${number}` },
      body: JSON.stringify({ number, qty: 1, phone: "13800000000" }),
    }).then((r) => r.json());
  await Promise.all([place("alice", "A-1"), place("bob", "B-1")]);
  await place("carol", "A-1"); // a duplicate number: the database refuses it
  await app.close();
} else {
  console.log(`listening on ${url}: curl -XPOST ${url}/orders -H 'x-user: alice' -H 'content-type: application/json' -d '{"number":"A-1","qty":1,"phone":"13800000000"}'`);
}
