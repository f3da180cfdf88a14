import { ErrorCode } from "../errors.ts";
import { Writer } from "../protocol/Writer.ts";
import { Topic } from "../state/Topic.ts";
import { ConfigSource, topicConfigEntries, type ConfigEntry } from "./config-entries.ts";
import type { ApiHandler, BrokerContext } from "./context.ts";

const TOPIC = 2;
const BROKER = 4;
// Kafka's ConfigResource.Type names, for the error message of the types not served.
const TYPE_NAMES: Readonly<Record<number, string>> = { 1: "ANY", 3: "GROUP", 8: "BROKER_LOGGER", 16: "CLIENT_METRICS" };

interface Resource {
  readonly type: number;
  readonly name: string;
  // null (or empty, as Kafka reads it): every config.
  readonly keys: readonly string[] | null;
}

interface Described {
  readonly errorCode: ErrorCode;
  readonly message: string | null;
  readonly entries: readonly ConfigEntry[];
}

const failed = (errorCode: ErrorCode, message: string | null): Described => ({ errorCode, message, entries: [] });
const found = (entries: readonly ConfigEntry[]): Described => ({ errorCode: ErrorCode.NONE, message: null, entries });

function describeTopic(ctx: BrokerContext, name: string): Described {
  if (!Topic.isLegalName(name)) return failed(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "${name}" is illegal.`);
  const topic = ctx.state.topics.get(name);
  return topic ? found(topicConfigEntries(topic, ctx.brokerConfigs)) : failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
}

// As Kafka's ConfigHelper: "" is the cluster-wide dynamic defaults (there are none), else it must be this broker's id.
function describeBroker(ctx: BrokerContext, name: string): Described {
  if (name === "") return found([]);
  if (!/^-?\d+$/.test(name)) return failed(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
  if (Number(name) !== ctx.nodeId) return failed(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.nodeId} or empty string, but received ${name}`);
  return found(ctx.brokerConfigs);
}

function describe(ctx: BrokerContext, resource: Resource): Described {
  const described =
    resource.type === TOPIC ? describeTopic(ctx, resource.name)
    : resource.type === BROKER ? describeBroker(ctx, resource.name)
    : failed(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${TYPE_NAMES[resource.type] ?? "UNKNOWN"}`);
  const keys = resource.keys;
  if (keys === null || keys.length === 0) return described;
  return { ...described, entries: described.entries.filter((entry) => keys.includes(entry.name)) };
}

interface Layout {
  readonly version: number;
  readonly synonyms: boolean;
  readonly documentation: boolean;
}

function writeEntry(w: Writer, layout: Layout, entry: ConfigEntry): void {
  // read_only: nothing can change while the broker runs (AlterConfigs is not served; topics keep their creation settings).
  w.string(entry.name).nullableString(entry.value).bool(true);
  if (layout.version === 0) w.bool(entry.source === ConfigSource.DEFAULT_CONFIG); // is_default
  else w.int8(entry.source);
  w.bool(false); // is_sensitive: no secrets among these
  if (layout.version >= 1) w.array(layout.synonyms ? entry.synonyms : [], (sw, s) => sw.string(s.name).nullableString(s.value).int8(s.source));
  if (layout.version >= 3) w.int8(entry.type).nullableString(layout.documentation ? entry.documentation : null);
}

/**
 * DescribeConfigs 0–3: TOPIC and BROKER resources, reporting only the configs this broker applies,
 * with their values, sources and (when asked) synonyms and documentation. A resource that cannot
 * be described gets its own error code; the others are still answered.
 */
export const handleDescribeConfigs: ApiHandler = (ctx, header, body) => {
  const version = header.apiVersion;
  const resources = body.array((r): Resource => ({ type: r.int8(), name: r.string(), keys: r.nullableArray((kr) => kr.string()) }));
  const layout: Layout = { version, synonyms: version >= 1 && body.bool(), documentation: version >= 3 && body.bool() };
  const w = new Writer().int32(0); // throttle_time_ms
  w.array(resources, (rw, resource) => {
    const described = describe(ctx, resource);
    rw.int16(described.errorCode).nullableString(described.message).int8(resource.type).string(resource.name);
    rw.array(described.entries, (ew, entry) => writeEntry(ew, layout, entry));
  });
  return w;
};
