import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("the Prisma quick start (examples/prisma-quickstart) runs Prisma + libSQL + in-process transport and every listener gets its event", async () => {
  const { stdout } = await run("npx", ["node", "--conditions=koper-source", "--import", "tsx", "examples/prisma-quickstart/main.ts"], {
    cwd: new URL("../../", import.meta.url).pathname,
    timeout: 60_000,
  }); // rejects on a non-zero exit code
  const lines = stdout.split("\n").map((line) => line.trim());
  const after = (heading: string) => lines.slice(lines.findIndex((line) => line.startsWith(heading)) + 1);
  expect(after("▶ 1.")[0]).toBe('MemberSignupListener.onMessage received: "Signed up successfully! 13800000000"');
  // The actor reaches the event though a Prisma query starts only when awaited (outside runWith's callback).
  expect(after("▶ 2.")[0]).toMatch(/^OrderListener\.onInsertOrder received order #1 A-1001: 1 × coffee beans .*actor alice/);
  expect(after("▶ 3.")[0]).toMatch(/^OrderListener\.onUpdateOrder received order #1: qty is now 3, was 1; changed: qty .*actor alice/);
  expect(after("▶ 4.")[0]).toMatch(/^OrderListener\.onDeleteOrder received order #1 A-1001 /);
  const five = after("▶ 5.").slice(0, 3); // the app's catch and the failure's delivery race
  expect(five[0]).toMatch(/onInsertOrder received order #2 A-1002: 2 × tea .*actor bob/);
  expect(five.slice(1).sort()).toEqual([
    "(the application got Prisma's own error, as always: PrismaClientKnownRequestError P2002)",
    expect.stringMatching(/^OrderListener\.onInsertOrder_X received a FAILED insert of A-1002: unique_violation \(P2002 in Order\.create /),
  ]);
  expect(after("▶ 6.").slice(0, 2)).toEqual([
    "(the transaction rolled back: payment declined)",
    "(nothing was published for the rolled-back order: the listeners saw nothing)",
  ]);
  expect(stdout.match(/OrderListener\.on\w+ received/g)).toHaveLength(5);
}, 90_000);
