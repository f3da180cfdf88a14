import type { Koper } from "@koper/core";
import { KoperActorInterceptor, KoperModule } from "@koper/nestjs";
import { koperTypeorm } from "@koper/typeorm";
import { Module } from "@nestjs/common";
import { APP_INTERCEPTOR } from "@nestjs/core";
import { TypeOrmModule, getDataSourceToken } from "@nestjs/typeorm";
import type { DataSource } from "typeorm";
import { Order } from "./order.entity.ts";
import { OrderListener, SmsService } from "./order.listener.ts";
import { HeaderAuthGuard, OrdersController } from "./orders.controller.ts";

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: "sqljs", entities: [Order], synchronize: true }),
    KoperModule.forRootAsync({
      inject: [getDataSourceToken()],
      useFactory: (dataSource: DataSource) => ({
        koper: { service: "shop" },
        attach: [(koper: Koper) => koperTypeorm(dataSource, koper)],
      }),
    }),
  ],
  controllers: [OrdersController],
  providers: [SmsService, OrderListener, HeaderAuthGuard, { provide: APP_INTERCEPTOR, useClass: KoperActorInterceptor }],
})
export class AppModule {}
