import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import type { Group } from "../state/Group.ts";
import type { ApiHandler } from "./context.ts";

// Kafka's answer for authorized_operations when the client did not ask for them.
const OPERATIONS_NOT_REQUESTED = -2147483648;
const EMPTY = Buffer.alloc(0);

function writeGroup(w: Writer, version: number, groupId: string, group: Group | undefined): void {
  // An unknown group is "Dead" with no error before v6, as Kafka answers.
  const state = group ? group.phase : "Dead";
  const stable = group?.phase === "Stable";
  w.int16(ErrorCode.NONE).string(groupId).string(state);
  // As Kafka's GroupMetadata.summary: protocol, metadata and assignments only when Stable.
  w.string(group?.protocolType ?? "").string(stable ? group.protocolName : "");
  w.array([...(group?.members.values() ?? [])], (mw, m) => {
    mw.string(m.memberId);
    if (version >= 4) mw.nullableString(m.groupInstanceId);
    mw.string(m.clientId).string(m.clientHost);
    mw.bytes(stable ? (m.protocols.find((p) => p.name === group.protocolName)?.metadata ?? EMPTY) : EMPTY);
    mw.bytes(stable ? m.assignment : EMPTY);
  });
  if (version >= 3) w.int32(OPERATIONS_NOT_REQUESTED);
}

/** DescribeGroups 0–4: each group's state, protocol and members (metadata and assignment when Stable). */
export const handleDescribeGroups: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const groupIds = body.array((r) => r.string());
  if (version >= 3) body.bool(); // include_authorized_operations: there are no ACLs
  const w = new Writer();
  if (version >= 1) w.int32(0); // throttle_time_ms
  return w.array(groupIds, (gw, groupId) => writeGroup(gw, version, groupId, ctx.state.groups.get(groupId)));
};

/** DeleteGroups 0–1: removes empty groups and their committed offsets; a group with members is NON_EMPTY_GROUP. */
export const handleDeleteGroups: ApiHandler = (ctx, _header, body) => {
  const groupIds = body.array((r) => r.string());
  const w = new Writer().int32(0); // throttle_time_ms
  return w.array(groupIds, (gw, groupId) => {
    const group = ctx.state.groups.get(groupId);
    let errorCode: ErrorCode = ErrorCode.NONE;
    if (groupId === "") errorCode = ErrorCode.INVALID_GROUP_ID;
    else if (!group) errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
    else if (group.members.size > 0) errorCode = ErrorCode.NON_EMPTY_GROUP;
    else ctx.state.deleteGroup(groupId);
    gw.string(groupId).int16(errorCode);
  });
};

/** ListGroups 0–2: every group this broker coordinates (all of them), with its protocol type. */
export const handleListGroups: ApiHandler = (ctx, header) => {
  const w = new Writer();
  if (header.apiVersion >= 1) w.int32(0); // throttle_time_ms
  w.int16(ErrorCode.NONE);
  return w.array([...ctx.state.groups.values()], (gw, group) => gw.string(group.groupId).string(group.protocolType ?? ""));
};
