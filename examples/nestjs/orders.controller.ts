import { randomUUID } from "node:crypto";
import { Body, Controller, Inject, Injectable, Post, UseGuards, type CanActivate, type ExecutionContext } from "@nestjs/common";
import { getDataSourceToken } from "@nestjs/typeorm";
import type { DataSource } from "typeorm";
import { Order } from "./order.entity.ts";

/** A stand-in auth guard: the user is the `x-user` header. */
@Injectable()
export class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: { id: string } }>();
    if (request.headers["x-user"]) request.user = { id: request.headers["x-user"] };
    return true;
  }
}

@Controller("orders")
@UseGuards(HeaderAuthGuard)
export class OrdersController {
  constructor(@Inject(getDataSourceToken()) private readonly dataSource: DataSource) {}

  @Post()
  async place(@Body() body: { number: string; qty: number; phone: string }) {
    const order = this.dataSource.getRepository(Order).create({ id: randomUUID(), ...body });
    try {
      await this.dataSource.transaction((manager) => manager.save(order));
      return { id: order.id };
    } catch {
      return { error: `order ${body.number} exists` };
    }
  }
}
