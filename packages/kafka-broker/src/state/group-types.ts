import type { ErrorCode } from "../errors.ts";

/** One protocol a member offers in JoinGroup (an assignor name and its subscription metadata). */
export interface GroupProtocol {
  /** Protocol (assignor) name, e.g. "range" or "RoundRobinAssigner". */
  readonly name: string;
  /** Opaque subscription metadata handed to the leader. */
  readonly metadata: Buffer;
}

/** A JoinGroup request as the coordinator needs it, whatever the version. */
export interface JoinRequest {
  /** Member id sent by the client ("" on first join). */
  readonly memberId: string;
  /** Static membership id (v5+), kept and echoed only. */
  readonly groupInstanceId: string | null;
  /** Client id from the request header, used as the member id prefix as Kafka does. */
  readonly clientId: string;
  /** Address the member connected from, as Kafka reports it ("/127.0.0.1"); "" when unknown. */
  readonly clientHost?: string;
  /** Session timeout: a member not heard from for this long is evicted. */
  readonly sessionTimeoutMs: number;
  /** How long a rebalance waits for this member to rejoin. */
  readonly rebalanceTimeoutMs: number;
  /** Protocol type, "consumer" for consumer groups. */
  readonly protocolType: string;
  /** Offered protocols in preference order. */
  readonly protocols: readonly GroupProtocol[];
  /** JoinGroup v4+ wants MEMBER_ID_REQUIRED on a first join. */
  readonly requireKnownMemberId: boolean;
}

/** A member as the leader sees it in the JoinGroup response. */
export interface JoinMember {
  /** Member id. */
  readonly memberId: string;
  /** Static membership id, if any. */
  readonly groupInstanceId: string | null;
  /** Metadata for the selected protocol. */
  readonly metadata: Buffer;
}

/** The JoinGroup answer, whatever the version. */
export interface JoinResult {
  /** Kafka error code. */
  readonly errorCode: ErrorCode;
  /** Generation the member joined, -1 on error. */
  readonly generationId: number;
  /** Selected protocol. */
  readonly protocolName: string;
  /** Leader member id. */
  readonly leaderId: string;
  /** The member's id (the assigned one on MEMBER_ID_REQUIRED). */
  readonly memberId: string;
  /** All members, for the leader only. */
  readonly members: readonly JoinMember[];
}

/** The SyncGroup answer. */
export interface SyncResult {
  /** Kafka error code. */
  readonly errorCode: ErrorCode;
  /** The member's assignment, empty on error. */
  readonly assignment: Buffer;
}

/** A member of a group, with its pending join/sync answers. */
export interface Member {
  readonly memberId: string;
  /** Client id of the member's first join (DescribeGroups). */
  readonly clientId: string;
  /** Address of the member's first join (DescribeGroups). */
  readonly clientHost: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly GroupProtocol[];
  assignment: Buffer;
  /** Set while the member waits in JoinGroup for the rebalance to complete. */
  joinWaiter: ((result: JoinResult) => void) | null;
  /** Set while the member waits in SyncGroup for the leader's assignments. */
  syncWaiter: ((result: SyncResult) => void) | null;
  /** When the session expires unless the member is heard from. */
  expiresAt: number;
}

/** A committed offset for one partition. */
export interface CommittedOffset {
  /** Next offset to consume. */
  readonly offset: number;
  /** Client metadata stored with the commit. */
  readonly metadata: string | null;
}

/** Group lifecycle phases, as in Kafka's GroupCoordinator. */
export type GroupPhase = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable";
