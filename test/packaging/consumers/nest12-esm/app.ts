// An ESM Nest 12 application ("type": "module", module nodenext, emitDecoratorMetadata: constructor
// injection by type, as `nest new` v12 generates) importing @koper/nestjs, @koper/core and
// @koper/typeorm. It boots, serves one HTTP request whose write (TypeORM on sql.js) reaches an
// injected listener, and shuts down: Koper drains before the database closes, and the process exits.
import "reflect-metadata";
import { createRequire } from "node:module";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { KoperModule } from "@koper/nestjs";
import { koperTypeorm } from "@koper/typeorm";
import { Body, Controller, Global, Headers, Injectable, Module, Post, type OnApplicationShutdown } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar" }) number!: string;
}

@Injectable()
class SmsService {
  readonly sent: string[] = [];
  send(text: string) {
    this.sent.push(text);
    console.log(`sms: ${text}`);
  }
}

@Injectable()
@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  constructor(private readonly sms: SmsService) {}
  async onInsertOrder(order: Order, event: DataEvent<Order>) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // still running when app.close() begins
    this.sms.send(`order ${order.number} by ${event.context.actor} (request ${event.context.requestId})`);
  }
}

/** Owns the DataSource and closes it at shutdown, as @nestjs/typeorm's global module does. */
@Injectable()
class Database implements OnApplicationShutdown {
  readonly dataSource = new DataSource({ type: "sqljs", entities: [Order], synchronize: true });
  constructor(private readonly sms: SmsService) {}
  async onApplicationShutdown() {
    console.log(`database closes after ${this.sms.sent.length} sms`);
    await this.dataSource.destroy();
  }
}

@Global()
@Module({
  providers: [SmsService, Database, { provide: DataSource, inject: [Database], useFactory: (db: Database) => db.dataSource.initialize() }],
  exports: [SmsService, DataSource],
})
class DatabaseModule {}

@Controller("orders")
class OrdersController {
  constructor(private readonly dataSource: DataSource, private readonly koper: Koper) {}
  @Post()
  place(@Body() body: { number: string }, @Headers("x-user") user: string) {
    return this.koper.runWith({ actor: user }, () => this.dataSource.getRepository(Order).save({ number: body.number }));
  }
}

@Module({
  imports: [
    // Koper's module first: its stop() must still run before the global DatabaseModule closes.
    KoperModule.forRootAsync({
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => ({ attach: [(koper: Koper) => koperTypeorm(dataSource, koper)] }),
    }),
    DatabaseModule,
  ],
  controllers: [OrdersController],
  providers: [OrderListener],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
app.enableShutdownHooks();
await app.listen(0, "127.0.0.1");
const response = await fetch(`${await app.getUrl()}/orders`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-user": "alice", "x-request-id": "req-1" },
  body: JSON.stringify({ number: "N-1" }),
});
const answer = `http ${response.status} ${await response.text()}`;
await app.close(); // drains the handler still running, then closes the database
console.log(answer);
const nest = createRequire(import.meta.url)("@nestjs/core/package.json") as { version: string };
const entry = import.meta.resolve("@koper/nestjs");
console.log(`closed; nest ${nest.version.split(".")[0]}, @koper/nestjs from ${entry.slice(entry.indexOf("dist/"))} (imported as ESM)`);
