// A small but real Nest application for the @koper/nestjs tests: orders over HTTP, an auth guard,
// TypeORM (sql.js or PostgreSQL), a listener with injected services, its own audit writes.
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { DataListener, Listen, type DataEvent, type MessageMeta } from "@koper/core";
import { InjectKoperSender, KoperActorInterceptor, KoperModule, type KoperModuleOptions, type KoperSender } from "@koper/nestjs";
import { koperTypeorm } from "@koper/typeorm";
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
} from "@nestjs/common";
import { APP_INTERCEPTOR } from "@nestjs/core";
import { TypeOrmModule, getDataSourceToken } from "@nestjs/typeorm";
import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, type DataSource, type DataSourceOptions } from "typeorm";

/** The SMS gateway the listener calls; tests override it with a fake. */
@Injectable()
export class SmsService {
  readonly sent: { to: string; text: string }[] = [];
  async send(to: string, text: string): Promise<void> {
    this.sent.push({ to, text });
  }
}

/** What the test listeners saw, shared through DI. */
@Injectable()
export class Seen {
  readonly orders: DataEvent[] = [];
  readonly failures: DataEvent[] = [];
  readonly audits: DataEvent[] = [];
  readonly messages: { payload: unknown; meta: MessageMeta }[] = [];
  readonly timeline: string[] = [];
  attempts = 0;
  /** Resolved by a test to let a "slow" order's handler finish. */
  slowGate: Promise<void> = Promise.resolve();
}

/** Tables of their own per app: tests share one PostgreSQL database. */
export function defineEntities(suffix: string) {
  @Entity({ name: `orders_${suffix}` })
  class Order {
    @PrimaryColumn({ type: "varchar", length: 36 }) id!: string; // app-set uuid
    @Column({ type: "varchar", length: 40, unique: true }) number!: string;
    @Column({ type: "integer" }) qty!: number;
    @Column({ type: "varchar", length: 40, nullable: true }) note!: string | null;
    @CreateDateColumn({ type: "varchar" }) createdAt!: string;
  }
  @Entity({ name: `audit_${suffix}` })
  class AuditEntry {
    @PrimaryGeneratedColumn({ type: "integer" }) id!: number;
    @Column({ type: "varchar", length: 36 }) orderId!: string;
    @Column({ type: "varchar", length: 40 }) what!: string;
  }
  return { Order, AuditEntry };
}
export type Entities = ReturnType<typeof defineEntities>;
export const ENTITIES = Symbol("entities");

@Injectable()
@DataListener({ entity: "Order", retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5, jitter: 0 } })
export class OrderListener {
  constructor(
    @Inject(SmsService) private readonly sms: SmsService,
    @Inject(Seen) private readonly seen: Seen,
    @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
    @Inject(ENTITIES) private readonly entities: Entities,
  ) {}

  // A Nest lifecycle hook on a listener: not a handler.
  onModuleInit(): void {
    this.seen.timeline.push("OrderListener.onModuleInit");
  }

  async onInsertOrder(order: { id: string; number: string; note: string | null }, event: DataEvent): Promise<void> {
    if (order.note === "explode") {
      this.seen.attempts++;
      throw new Error(`cannot handle ${order.number}`);
    }
    if (order.note === "slow") await this.seen.slowGate;
    if (order.note === "stuck") await new Promise(() => {}); // never returns
    await this.sms.send("+8613800000000", `order ${order.number} received`);
    this.seen.orders.push(event);
    // The handler's own write: audited under the original actor, caused by this event.
    await this.dataSource.getRepository(this.entities.AuditEntry).save({ orderId: order.id, what: `sms for ${order.number}` });
    if (order.note === "slow") this.seen.timeline.push("slow handler wrote");
  }

  onInsertOrder_X(_order: unknown, event: DataEvent): void {
    this.seen.failures.push(event);
  }
}

@Injectable()
@DataListener({ entity: "AuditEntry" })
export class AuditListener {
  constructor(@Inject(Seen) private readonly seen: Seen) {}
  onInsertAuditEntry(_entry: unknown, event: DataEvent): void {
    this.seen.audits.push(event);
  }
}

export const SIGNUP_TOPIC = `nest.signup-${randomBytes(3).toString("hex")}`;

@Injectable()
@Listen({ topic: SIGNUP_TOPIC })
export class SignupListener {
  constructor(@Inject(Seen) private readonly seen: Seen) {}
  onMessage(payload: unknown, meta: MessageMeta): void {
    this.seen.messages.push({ payload, meta });
  }
}

/** Puts `{ id }` from the `x-user` header on the request, as an auth guard would. */
@Injectable()
export class UserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: { id: string } }>();
    const user = request.headers["x-user"];
    if (user) request.user = { id: user };
    return true;
  }
}

@Controller()
@UseGuards(UserGuard)
export class OrdersController {
  constructor(
    @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
    @Inject(ENTITIES) private readonly entities: Entities,
    @InjectKoperSender() private readonly sender: KoperSender,
    @Inject(Seen) private readonly seen: Seen,
  ) {}

  @Post("orders")
  async create(@Body() body: { id: string; number: string; qty: number; note?: string; holdUntil?: string }) {
    if (body.holdUntil === "released") {
      this.seen.timeline.push("in-flight request entered");
      await this.seen.slowGate; // an HTTP request still in flight at shutdown
    }
    try {
      await this.dataSource.transaction((manager) => manager.save(manager.create(this.entities.Order, { note: null, ...body })));
    } catch (error) {
      return { ok: false, error: (error as Error).message.slice(0, 80) };
    }
    if (body.holdUntil === "released") this.seen.timeline.push("in-flight request committed");
    return { ok: true, id: body.id };
  }

  @Post("orders/declined")
  @HttpCode(402)
  async declined(@Body() body: { id: string; number: string; qty: number }) {
    await this.dataSource
      .transaction(async (manager) => {
        await manager.save(manager.create(this.entities.Order, { note: null, ...body }));
        throw new Error("payment declined");
      })
      .catch(() => undefined);
    return { ok: false };
  }

  @Post("signup")
  async signup(@Body() body: { phone: string }) {
    const id = await this.sender.send(SIGNUP_TOPIC, `Signed up successfully! ${body.phone}`);
    return { id };
  }

  @Get("health")
  health() {
    return { ok: true };
  }
}

/** A service that writes in its own onModuleInit, before Koper has started. */
@Injectable()
export class SeedService {
  constructor(
    @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
    @Inject(ENTITIES) private readonly entities: Entities,
  ) {}
  async onModuleInit(): Promise<void> {
    await this.dataSource.getRepository(this.entities.Order).save({ id: "00000000-0000-4000-8000-000000000000", number: "SEED-1", qty: 1, note: null });
  }
}

@Module({})
export class OrdersModule {
  static register(entities: Entities): DynamicModule {
    return {
      module: OrdersModule,
      controllers: [OrdersController],
      providers: [SmsService, Seen, OrderListener, AuditListener, SignupListener, SeedService, UserGuard, { provide: ENTITIES, useValue: entities }],
      exports: [SmsService, Seen, ENTITIES],
    };
  }
}

/** How a test wants the app built. */
export interface AppOptions {
  db: DataSourceOptions;
  /** Import KoperModule before TypeOrmModule (true) or after. */
  koperFirst?: boolean;
  koper?: Partial<KoperModuleOptions>;
  /** Table suffix; a new one by default. */
  suffix?: string;
}

/** The application's root module. */
export function appModule(options: AppOptions): { module: DynamicModule; entities: Entities } {
  const entities = defineEntities(options.suffix ?? randomBytes(4).toString("hex"));
  const typeorm = TypeOrmModule.forRoot({ ...options.db, entities: [entities.Order, entities.AuditEntry], synchronize: true, logging: false } as never);
  const koper = KoperModule.forRootAsync({
    inject: [getDataSourceToken()],
    useFactory: (dataSource: DataSource): KoperModuleOptions => ({
      koper: { topics: { prefix: `nest-${randomBytes(3).toString("hex")}` } },
      attach: [(k) => koperTypeorm(dataSource, k)],
      http: { requestId: (req) => req.headers["x-request-id"] as string | undefined },
      warnWithoutShutdownHooks: false,
      logger: false,
      ...options.koper,
    }),
  });
  @Module({})
  class AppModule {}
  const imports = options.koperFirst ? [koper, typeorm] : [typeorm, koper];
  return {
    module: {
      module: AppModule,
      imports: [...imports, OrdersModule.register(entities)],
      providers: [{ provide: APP_INTERCEPTOR, useClass: KoperActorInterceptor }],
    },
    entities,
  };
}
