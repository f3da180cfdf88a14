import "reflect-metadata";
import { DataListener, Koper, type DataEvent } from "@koper/core";
import { KoperModule } from "@koper/nestjs";
import { koperTypeorm } from "@koper/typeorm";
import { Inject, Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { TypeOrmModule, getDataSourceToken } from "@nestjs/typeorm";
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from "typeorm";

@Entity("orders")
class Order {
  @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
  @Column({ type: "varchar", unique: true }) number!: string;
}

@Injectable()
class SmsService {
  send(to: string, text: string) {
    console.log(`SMS to ${to}: ${text}`);
  }
}

@Injectable()
@DataListener<"Order", Order>({ entity: "Order" })
class OrderListener {
  constructor(@Inject(SmsService) private readonly sms: SmsService) {}

  onInsertOrder(order: Order, event: DataEvent<Order>) {
    this.sms.send("13800000000", `order ${order.number} placed by ${event.context.actor}`);
  }

  onModuleInit() {} // Nest's lifecycle hooks are allowed on listeners
}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: "sqljs", entities: [Order], synchronize: true }),
    KoperModule.forRootAsync({
      inject: [getDataSourceToken()],
      useFactory: (dataSource: DataSource) => ({ attach: [(koper: Koper) => koperTypeorm(dataSource, koper)] }),
    }),
  ],
  providers: [SmsService, OrderListener],
})
class AppModule {}

// Boot: the Koper is created and TypeORM attached (attach), the listeners are registered
// (onModuleInit), then koper.start() (onApplicationBootstrap).
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const koper = app.get(Koper);
const orders = app.get<DataSource>(getDataSourceToken()).getRepository(Order);
await koper.runWith({ actor: "alice" }, () => orders.save({ number: "A-1001" }));
await app.close(); // koper.stop() drains first (onApplicationShutdown), then TypeORM closes its connection
