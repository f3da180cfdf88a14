import { handleCreateTopics, handleDeleteTopics } from "./admin.ts";
import { handleApiVersions } from "./api-versions.ts";
import type { ApiHandler } from "./context.ts";
import { handleFindCoordinator, handleInitProducerId } from "./coordinator.ts";
import { handleCreatePartitions } from "./create-partitions.ts";
import { handleDeleteRecords } from "./delete-records.ts";
import { handleDescribeConfigs } from "./describe-configs.ts";
import { handleFetch } from "./fetch.ts";
import { handleDeleteGroups, handleDescribeGroups, handleListGroups } from "./groups.ts";
import { handleHeartbeat, handleJoinGroup, handleLeaveGroup, handleSyncGroup } from "./join-sync.ts";
import { handleListOffsets } from "./list-offsets.ts";
import { handleMetadata } from "./metadata.ts";
import { handleOffsetCommit, handleOffsetFetch } from "./offsets.ts";
import { handleProduce } from "./produce.ts";
import { ApiKey } from "./supported.ts";

/** The handler for each served API key. */
export const HANDLERS: ReadonlyMap<number, ApiHandler> = new Map<number, ApiHandler>([
  [ApiKey.Produce, handleProduce],
  [ApiKey.Fetch, handleFetch],
  [ApiKey.ListOffsets, handleListOffsets],
  [ApiKey.Metadata, handleMetadata],
  [ApiKey.OffsetCommit, handleOffsetCommit],
  [ApiKey.OffsetFetch, handleOffsetFetch],
  [ApiKey.FindCoordinator, handleFindCoordinator],
  [ApiKey.JoinGroup, handleJoinGroup],
  [ApiKey.Heartbeat, handleHeartbeat],
  [ApiKey.LeaveGroup, handleLeaveGroup],
  [ApiKey.SyncGroup, handleSyncGroup],
  [ApiKey.DescribeGroups, handleDescribeGroups],
  [ApiKey.ListGroups, handleListGroups],
  [ApiKey.ApiVersions, handleApiVersions],
  [ApiKey.CreateTopics, handleCreateTopics],
  [ApiKey.DeleteTopics, handleDeleteTopics],
  [ApiKey.DeleteRecords, handleDeleteRecords],
  [ApiKey.InitProducerId, handleInitProducerId],
  [ApiKey.DescribeConfigs, handleDescribeConfigs],
  [ApiKey.CreatePartitions, handleCreatePartitions],
  [ApiKey.DeleteGroups, handleDeleteGroups],
]);
