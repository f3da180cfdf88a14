/** Kafka API keys this broker serves. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  DescribeConfigs: 32,
  CreatePartitions: 37,
  DeleteGroups: 42,
} as const;

/** A served API key with its version range. */
export interface ApiVersionRange {
  /** API key. */
  readonly apiKey: number;
  /** Lowest served version. */
  readonly minVersion: number;
  /** Highest served version; all are non-flexible, so no tagged fields anywhere. */
  readonly maxVersion: number;
}

/** The versions advertised in ApiVersions; kept below each API's first flexible version. */
export const SUPPORTED_APIS: readonly ApiVersionRange[] = [
  { apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 7 },
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 11 },
  { apiKey: ApiKey.ListOffsets, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 6 },
  { apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.OffsetFetch, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.CreateTopics, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 1 },
];
