import { Koper, Listen, type MessageMeta } from "@koper/core";
import { PlatformaticKafkaTransport } from "@koper/kafka/platformatic";
import { startBroker } from "@koper/kafka-broker";

@Listen({ topic: "koper.memberSignup" })
class MemberSignupListener {
  async onMessage(msg: string, meta: MessageMeta) {
    console.log(`${meta.topic} #${meta.offset}: ${msg}`);
  }
}

const broker = await startBroker({ port: 0 }); // or your Kafka's "host:port" list
const koper = new Koper({ transport: new PlatformaticKafkaTransport({ brokers: broker.brokers, clientId: "members-service" }) });
koper.register(new MemberSignupListener());
await koper.start();

await koper.sender.send("koper.memberSignup", "Signed up successfully! 13800000000");

await koper.stop(); // waits until this process's listener handled it, then leaves the group
await broker.stop();
