import "reflect-metadata";
import { Koper, dataListener, type DataEvent } from "@koper/core";
import { koperTypeorm } from "@koper/typeorm";
import { Column, DataSource, Entity, PrimaryColumn } from "typeorm";
import { expect, it } from "vitest";

class Address {
  @Column({ type: "varchar", length: 40 }) city!: string;
  @Column({ type: "varchar", length: 10 }) zip!: string;
}

@Entity({ name: `shipment_${Math.random().toString(36).slice(2, 8)}` })
class Shipment {
  @PrimaryColumn({ type: "varchar", length: 10 }) carrier!: string;
  @PrimaryColumn({ type: "integer" }) trackingNo!: number;
  @Column(() => Address) to!: Address;
}

it("embedded columns keep the entity's shape, composite keys name every part", async () => {
  const dataSource = new DataSource({ type: "sqljs", entities: [Shipment], synchronize: true });
  await dataSource.initialize();
  const koper = new Koper();
  const events: DataEvent[] = [];
  koper.register(
    dataListener()({
      entity: "Shipment",
      onInsertShipment: (_s, event) => void events.push(event),
      onUpdateShipment: (_s, event) => void events.push(event),
    }),
  );
  await koper.start();
  koperTypeorm(dataSource, koper);
  const repo = dataSource.getRepository(Shipment);
  const shipment = await repo.save(repo.create({ carrier: "ups", trackingNo: 7, to: { city: "Lyon", zip: "69001" } }));
  shipment.to.city = "Paris";
  await repo.save(shipment);
  await koper.stop();
  await dataSource.destroy();
  expect(events.map((e) => e.key)).toEqual([{ carrier: "ups", trackingNo: 7 }, { carrier: "ups", trackingNo: 7 }]);
  expect(events[0]!.data).toEqual({ carrier: "ups", trackingNo: 7, to: { city: "Lyon", zip: "69001" } });
  expect(events[1]!.data).toEqual({ carrier: "ups", trackingNo: 7, to: { city: "Paris", zip: "69001" } });
  expect(events[1]!.before).toEqual({ carrier: "ups", trackingNo: 7, to: { city: "Lyon", zip: "69001" } });
  expect(events[1]!.changes).toEqual(["to.city"]);
});
