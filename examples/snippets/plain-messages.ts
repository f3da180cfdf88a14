import { Koper, Listen, type MessageMeta } from "@koper/core";

@Listen({ topic: "koper.memberSignup" })
class MemberSignupListener {
  async onMessage(msg: string, meta: MessageMeta) {
    console.log(`${meta.topic} #${meta.offset}: ${msg}`);
  }
}

const koper = new Koper(); // in-process transport by default
koper.register(new MemberSignupListener());
await koper.start();

await koper.sender.send("koper.memberSignup", "Signed up successfully! 13800000000");

await koper.stop(); // drains what was sent, then stops
