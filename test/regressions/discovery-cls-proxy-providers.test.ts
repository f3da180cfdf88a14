// Regression: ListenerExplorer read a marker property off every provider's value, and a value that
// throws on property access (nestjs-cls's proxy providers CLS_REQ / CLS_RES outside a CLS context)
// failed the whole boot with ProxyProviderNotResolvedException. Such a value is simply no listener.
import "reflect-metadata";
import { Koper, Listen } from "@koper/core";
import { KoperModule } from "@koper/nestjs";
import { Injectable, Module } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import { ClsModule } from "nestjs-cls";
import { expect, it } from "vitest";

@Injectable()
@Listen({ topic: "regression.proxy" })
class PingListener {
  readonly got: unknown[] = [];
  onMessage(payload: unknown) {
    this.got.push(payload);
  }
}

@Module({
  // ClsModule provides CLS_REQ and CLS_RES as proxy providers.
  imports: [ClsModule.forRoot({ global: true }), KoperModule.forRoot({ logger: false, warnWithoutShutdownHooks: false })],
  providers: [PingListener],
})
class AppModule {}

it("boots next to nestjs-cls's proxy providers and still registers the real listener", async () => {
  const app = await (await Test.createTestingModule({ imports: [AppModule] }).compile()).init();
  try {
    const koper = app.get(Koper);
    await koper.sender.send("regression.proxy", "ping");
    await koper.settle();
    expect(app.get(PingListener).got).toEqual(["ping"]);
  } finally {
    await app.close();
  }
});
