import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { JoinRequest, JoinResult } from "../state/group-types.ts";
import type { ApiHandler } from "./context.ts";

function writeJoin(version: number, result: JoinResult): Writer {
  const w = new Writer();
  if (version >= 2) w.int32(0); // throttle_time_ms
  w.int16(result.errorCode).int32(result.generationId).string(result.protocolName).string(result.leaderId).string(result.memberId);
  w.array(result.members, (mw, m) => {
    mw.string(m.memberId);
    if (version >= 5) mw.nullableString(m.groupInstanceId);
    mw.bytes(m.metadata);
  });
  return w;
}

/** JoinGroup 0–5: waits for the rebalance; v4+ first joins get MEMBER_ID_REQUIRED with their new id. */
export const handleJoinGroup: ApiHandler = async (ctx, header, body) => {
  const version = header.apiVersion;
  const groupId = body.string();
  const sessionTimeoutMs = body.int32();
  const rebalanceTimeoutMs = version >= 1 ? body.int32() : sessionTimeoutMs;
  const memberId = body.string();
  const groupInstanceId = version >= 5 ? body.nullableString() : null;
  const protocolType = body.string();
  // Copied: the metadata outlives the request frame it was read from.
  const protocols = body.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) }));
  const fail = (errorCode: ErrorCode) => writeJoin(version, { errorCode, generationId: -1, protocolName: "", leaderId: "", memberId, members: [] });
  if (groupId === "") return fail(ErrorCode.INVALID_GROUP_ID);
  if (sessionTimeoutMs <= 0) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
  const request: JoinRequest = {
    memberId,
    groupInstanceId,
    clientId: header.clientId,
    clientHost: header.clientHost,
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    protocolType,
    protocols,
    requireKnownMemberId: version >= 4,
  };
  return writeJoin(version, await ctx.state.group(groupId).join(request));
};

/** SyncGroup 0–3: the leader's assignments reach every member of the generation. */
export const handleSyncGroup: ApiHandler = async (ctx, header, body) => {
  const version = header.apiVersion;
  const groupId = body.string();
  const generationId = body.int32();
  const memberId = body.string();
  if (version >= 3) body.nullableString(); // group_instance_id
  const assignments = new Map(body.array((r) => [r.string(), Buffer.from(r.bytes())] as const));
  const group = ctx.state.groups.get(groupId);
  const result = group ? await group.sync(generationId, memberId, assignments) : { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: Buffer.alloc(0) };
  const w = new Writer();
  if (version >= 1) w.int32(0); // throttle_time_ms
  return w.int16(result.errorCode).bytes(result.assignment);
};

/** Heartbeat 0–3: keeps the session alive; REBALANCE_IN_PROGRESS tells the member to rejoin. */
export const handleHeartbeat: ApiHandler = (ctx, header, body) => {
  const groupId = body.string();
  const generationId = body.int32();
  const memberId = body.string();
  if (header.apiVersion >= 3) body.nullableString(); // group_instance_id
  const group = ctx.state.groups.get(groupId);
  const errorCode = group ? group.heartbeat(generationId, memberId) : ErrorCode.UNKNOWN_MEMBER_ID;
  const w = new Writer();
  if (header.apiVersion >= 1) w.int32(0); // throttle_time_ms
  return w.int16(errorCode);
};

/** LeaveGroup 0–3: removes members (v3 takes a batch) and rebalances the rest. */
export const handleLeaveGroup: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const groupId = body.string();
  const members =
    version >= 3 ? body.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString() })) : [{ memberId: body.string(), groupInstanceId: null }];
  const group = ctx.state.groups.get(groupId);
  const results = members.map((m) => ({ ...m, errorCode: group ? group.leave(m.memberId) : ErrorCode.UNKNOWN_MEMBER_ID }));
  const w = new Writer();
  if (version >= 1) w.int32(0); // throttle_time_ms
  if (version < 3) return w.int16(results[0]!.errorCode);
  w.int16(ErrorCode.NONE);
  return w.array(results, (mw, m) => mw.string(m.memberId).nullableString(m.groupInstanceId).int16(m.errorCode));
};
