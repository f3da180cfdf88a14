import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { ApiHandler } from "./context.ts";

/** FindCoordinator 0–2: this broker coordinates every group (and would every transaction). */
export const handleFindCoordinator: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  body.string(); // key
  if (version >= 1) body.int8(); // key_type
  const w = new Writer();
  if (version >= 1) w.int32(0); // throttle_time_ms
  w.int16(ErrorCode.NONE);
  if (version >= 1) w.nullableString(null); // error_message
  return w.int32(ctx.nodeId).string(ctx.advertisedHost).int32(ctx.port);
};

/**
 * InitProducerId 0–1: increasing producer ids with epoch 0, for idempotent producers. A
 * transactional id is refused at once with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, the
 * non-retriable answer every client stops on (kafkajs, librdkafka, kafka-python): this broker has
 * no transaction coordinator, so a transactional producer must fail here, not time out later.
 */
export const handleInitProducerId: ApiHandler = (ctx, _header, body) => {
  const transactionalId = body.nullableString();
  body.int32(); // transaction_timeout_ms
  if (transactionalId !== null) {
    ctx.log(`refusing InitProducerId for transactional id "${transactionalId}": transactions are not supported by this broker`);
    return new Writer().int32(0).int16(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED).int64(-1).int16(-1);
  }
  return new Writer().int32(0).int16(ErrorCode.NONE).int64(ctx.state.nextProducerId()).int16(0);
};
