import { randomUUID } from "node:crypto";
import { ErrorCode } from "../errors.ts";
import type { CommittedOffset, GroupPhase, JoinRequest, JoinResult, Member, SyncResult } from "./group-types.ts";

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: ErrorCode, memberId = ""): JoinResult {
  return { errorCode, generationId: -1, protocolName: "", leaderId: "", memberId, members: [] };
}

/**
 * A consumer group and its rebalance state machine, modelled on Kafka's GroupCoordinator:
 * Empty → PreparingRebalance (waiting for every member to rejoin) → CompletingRebalance
 * (waiting for the leader's SyncGroup) → Stable. Session and rebalance timeouts are enforced by
 * {@link Group.tick}, which the coordinator calls on a timer.
 */
export class Group {
  /** Current phase. */
  phase: GroupPhase = "Empty";
  /** Generation, bumped on every completed join. */
  generationId = 0;
  /** Protocol type shared by the members ("consumer"). */
  protocolType: string | null = null;
  /** Protocol selected in the last join. */
  protocolName = "";
  /** Leader member id, "" when none. */
  leaderId = "";
  /** Members by id. */
  readonly members = new Map<string, Member>();
  /** Committed offsets by topic, then partition. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  // Member ids handed out with MEMBER_ID_REQUIRED, and when they lapse if the client never rejoins.
  private readonly pendingMembers = new Map<string, number>();
  private rebalanceDeadline = 0;

  constructor(
    /** Group id. */
    readonly groupId: string,
    /** Told of every stored commit (the data directory's offset log). */
    private readonly onCommit: (topic: string, partition: number, offset: CommittedOffset) => void = () => {},
  ) {}

  /** Handles JoinGroup; resolves when the rebalance completes (or at once on errors and fast paths). */
  join(request: JoinRequest, now = Date.now()): Promise<JoinResult> {
    if (!this.acceptsProtocols(request)) return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    if (request.memberId === "") {
      const memberId = `${request.clientId || "member"}-${randomUUID()}`;
      if (request.requireKnownMemberId) {
        this.pendingMembers.set(memberId, now + request.sessionTimeoutMs);
        return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      }
      return this.addMemberAndRebalance(memberId, request, now);
    }
    if (this.pendingMembers.delete(request.memberId)) return this.addMemberAndRebalance(request.memberId, request, now);
    const member = this.members.get(request.memberId);
    if (!member) return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    const changed = !sameProtocols(member, request);
    // A follower rejoining with nothing new gets the current generation back, as in Kafka.
    if (this.phase !== "PreparingRebalance" && !changed && (this.phase === "CompletingRebalance" || member.memberId !== this.leaderId)) {
      member.expiresAt = now + member.sessionTimeoutMs;
      return Promise.resolve(this.joinResultFor(member));
    }
    updateMember(member, request);
    const answer = this.waitForJoin(member);
    if (this.phase !== "PreparingRebalance") this.prepareRebalance(now);
    else this.maybeCompleteJoin(now);
    return answer;
  }

  private acceptsProtocols(request: JoinRequest): boolean {
    if (request.protocols.length === 0 || request.protocolType === "") return false;
    if (this.members.size === 0) return true;
    if (request.protocolType !== this.protocolType) return false;
    // Only the rejoining member may change its own protocols, so leave it out of the intersection.
    const others = [...this.members.values()].filter((m) => m.memberId !== request.memberId);
    return request.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private addMemberAndRebalance(memberId: string, request: JoinRequest, now: number): Promise<JoinResult> {
    const member: Member = {
      memberId,
      clientId: request.clientId,
      clientHost: request.clientHost ?? "",
      groupInstanceId: request.groupInstanceId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      assignment: EMPTY,
      joinWaiter: null,
      syncWaiter: null,
      expiresAt: now + request.sessionTimeoutMs,
    };
    this.members.set(memberId, member);
    this.protocolType ??= request.protocolType;
    const answer = this.waitForJoin(member);
    if (this.phase !== "PreparingRebalance") this.prepareRebalance(now);
    else this.maybeCompleteJoin(now);
    return answer;
  }

  private waitForJoin(member: Member): Promise<JoinResult> {
    // A retried join replaces the previous one; answer the old one so its connection is not stuck.
    member.joinWaiter?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    return new Promise((resolve) => (member.joinWaiter = resolve));
  }

  private prepareRebalance(now: number): void {
    for (const member of this.members.values()) {
      member.syncWaiter?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      member.syncWaiter = null;
    }
    this.phase = "PreparingRebalance";
    const timeout = Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    this.rebalanceDeadline = now + timeout;
    this.maybeCompleteJoin(now);
  }

  private maybeCompleteJoin(now: number): void {
    if (this.phase !== "PreparingRebalance") return;
    if ([...this.members.values()].every((m) => m.joinWaiter !== null)) this.completeJoin(now);
  }

  // Members that did not rejoin in time are dropped, the rest form the next generation.
  private completeJoin(now: number): void {
    for (const member of [...this.members.values()]) if (member.joinWaiter === null) this.members.delete(member.memberId);
    this.generationId += 1;
    if (this.members.size === 0) {
      this.toEmpty();
      return;
    }
    this.protocolName = this.selectProtocol();
    if (!this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.phase = "CompletingRebalance";
    for (const member of this.members.values()) {
      const answer = member.joinWaiter!;
      member.joinWaiter = null;
      member.assignment = EMPTY;
      member.expiresAt = now + member.sessionTimeoutMs;
      answer(this.joinResultFor(member));
    }
  }

  private joinResultFor(member: Member): JoinResult {
    const isLeader = member.memberId === this.leaderId;
    const members = isLeader
      ? [...this.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
        }))
      : [];
    return { errorCode: ErrorCode.NONE, generationId: this.generationId, protocolName: this.protocolName, leaderId: this.leaderId, memberId: member.memberId, members };
  }

  // Each member votes for its most preferred protocol that every member supports.
  private selectProtocol(): string {
    const all = [...this.members.values()];
    const candidates = all[0]!.protocols.map((p) => p.name).filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const member of all) {
      const choice = member.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? candidates[0] ?? "";
  }

  private toEmpty(): void {
    this.phase = "Empty";
    this.protocolType = null;
    this.protocolName = "";
    this.leaderId = "";
  }

  /** Handles SyncGroup; the leader's call distributes assignments to everyone waiting. */
  sync(generationId: number, memberId: string, assignments: ReadonlyMap<string, Buffer>, now = Date.now()): Promise<SyncResult> {
    const member = this.members.get(memberId);
    const fail = (errorCode: ErrorCode) => Promise.resolve({ errorCode, assignment: EMPTY });
    if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (generationId !== this.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (this.phase === "PreparingRebalance") return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    member.expiresAt = now + member.sessionTimeoutMs;
    if (this.phase === "Stable") return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
    member.syncWaiter?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    const answer = new Promise<SyncResult>((resolve) => (member.syncWaiter = resolve));
    if (memberId === this.leaderId) {
      for (const m of this.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY;
      this.phase = "Stable";
      for (const m of this.members.values()) {
        m.syncWaiter?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
        m.syncWaiter = null;
      }
    }
    return answer;
  }

  /** Handles Heartbeat: refreshes the session and tells members when to rejoin. */
  heartbeat(generationId: number, memberId: string, now = Date.now()): ErrorCode {
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    member.expiresAt = now + member.sessionTimeoutMs;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return this.phase === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Handles LeaveGroup for one member; the others rebalance. */
  leave(memberId: string, now = Date.now()): ErrorCode {
    if (this.pendingMembers.delete(memberId)) return ErrorCode.NONE;
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(member, now);
    return ErrorCode.NONE;
  }

  /** Checks whether an OffsetCommit from this member/generation may be stored (Kafka's rules). */
  checkCommit(generationId: number, memberId: string, now = Date.now()): ErrorCode {
    if (generationId < 0 && this.phase === "Empty") return ErrorCode.NONE;
    if (this.phase === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    member.expiresAt = now + member.sessionTimeoutMs;
    return ErrorCode.NONE;
  }

  /** Stores a committed offset. */
  commit(topic: string, partition: number, offset: CommittedOffset): void {
    let byPartition = this.offsets.get(topic);
    if (!byPartition) this.offsets.set(topic, (byPartition = new Map()));
    byPartition.set(partition, offset);
    this.onCommit(topic, partition, offset);
  }

  private removeMember(member: Member, now: number): void {
    this.members.delete(member.memberId);
    member.joinWaiter?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.syncWaiter?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    if (this.phase === "PreparingRebalance") this.maybeCompleteJoin(now);
    else if (this.members.size === 0) this.toEmpty();
    else this.prepareRebalance(now);
  }

  /** Evicts members whose session expired and ends rebalances that ran out of time. */
  tick(now = Date.now()): void {
    for (const [memberId, expiresAt] of this.pendingMembers) if (expiresAt <= now) this.pendingMembers.delete(memberId);
    // A member waiting in JoinGroup is not expected to heartbeat; the rebalance timeout covers it.
    for (const member of [...this.members.values()]) {
      if (member.joinWaiter === null && member.expiresAt <= now && this.members.has(member.memberId)) this.removeMember(member, now);
    }
    if (this.phase === "PreparingRebalance" && this.rebalanceDeadline <= now) this.completeJoin(now);
  }

  /**
   * Broker stop: answers anyone waiting in JoinGroup or SyncGroup so they retry, and keeps the
   * members, generation and offsets, as Kafka keeps group metadata in __consumer_offsets across a
   * restart. Members that come back carry on with the same generation (their commits succeed).
   */
  shutdown(): void {
    for (const member of this.members.values()) {
      member.joinWaiter?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId));
      member.syncWaiter?.({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: EMPTY });
      member.joinWaiter = null;
      member.syncWaiter = null;
    }
    this.pendingMembers.clear();
  }

  /** Broker start with this group's state: every member gets a full session (and a rebalance its full timeout) to reconnect. */
  resume(now = Date.now()): void {
    for (const member of this.members.values()) member.expiresAt = now + member.sessionTimeoutMs;
    if (this.phase === "PreparingRebalance") {
      this.rebalanceDeadline = now + Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    }
  }
}

function sameProtocols(member: Member, request: JoinRequest): boolean {
  return (
    member.protocols.length === request.protocols.length &&
    member.protocols.every((p, i) => p.name === request.protocols[i]!.name && p.metadata.equals(request.protocols[i]!.metadata))
  );
}

function updateMember(member: Member, request: JoinRequest): void {
  member.protocols = request.protocols;
  member.sessionTimeoutMs = request.sessionTimeoutMs;
  member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
  member.groupInstanceId = request.groupInstanceId;
}
