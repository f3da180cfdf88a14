import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DataDirError } from "../errors.ts";
import { BrokerState } from "../state/BrokerState.ts";
import type { CommittedOffset } from "../state/group-types.ts";
import type { Topic, TopicConfig } from "../state/Topic.ts";
import { PartitionFiles } from "./PartitionFiles.ts";

/** What the state reports to its store; every method runs synchronously with the change. */
export interface StateStore {
  /** A topic was created (or loaded). */
  topicCreated(topic: Topic): void;
  /** Partitions from index `from` on were added to a topic. */
  partitionsAdded(topic: Topic, from: number): void;
  /** A topic was deleted, with the committed offsets for it. */
  topicDeleted(name: string): void;
  /** A group was deleted, with its committed offsets. */
  groupDeleted(groupId: string): void;
  /** A group committed an offset. */
  offsetCommitted(groupId: string, topic: string, partition: number, offset: CommittedOffset): void;
  /** The producer id counter moved. */
  producerIdsChanged(lastProducerId: number): void;
}

interface TopicFile {
  readonly partitions: number;
  readonly config: TopicConfig;
  // Absent in files written before DescribeConfigs was served.
  readonly overrides?: readonly (keyof TopicConfig)[];
}

interface OffsetLine {
  readonly g: string;
  readonly t: string;
  readonly p: number;
  readonly o: number;
  readonly m: string | null;
}

// Written when a topic or a group is deleted: the commits before it, for that topic or group, no longer count.
type DeletedLine = { readonly deletedTopic: string } | { readonly deletedGroup: string };

// Topic names are [a-zA-Z0-9._-], so they are safe as directory names as they are.
const topicDir = (root: string, name: string) => join(root, "topics", name);

/**
 * The `--data-dir` store: topics (partition count and configs), each partition's log as
 * append-only segment files, committed offsets as an append-only log (compacted on open), and the
 * producer id counter. Written as things happen; fsynced every `fsyncIntervalMs`, and on close.
 */
export class DataDir implements StateStore {
  private readonly partitions = new Map<string, PartitionFiles[]>();
  private offsetsFd: number;
  private offsetsDirty = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly root: string,
    fsyncIntervalMs: number,
  ) {
    mkdirSync(join(root, "topics"), { recursive: true });
    this.offsetsFd = -1;
    this.timer = setInterval(() => this.fsync(), fsyncIntervalMs);
    this.timer.unref();
  }

  /** Opens (or creates) a data directory and returns the state it holds, attached to the store. */
  static open(root: string, fsyncIntervalMs: number): { state: BrokerState; store: DataDir } {
    mkdirSync(root, { recursive: true });
    lock(root);
    try {
      return DataDir.load(root, fsyncIntervalMs);
    } catch (error) {
      rmSync(join(root, LOCK), { force: true });
      throw DataDirError.failed(root, error);
    }
  }

  private static load(root: string, fsyncIntervalMs: number): { state: BrokerState; store: DataDir } {
    const store = new DataDir(root, fsyncIntervalMs);
    const state = new BrokerState();
    const brokerFile = join(root, "broker.json");
    if (existsSync(brokerFile)) state.lastProducerId = (JSON.parse(readFileSync(brokerFile, "utf8")) as { lastProducerId: number }).lastProducerId;
    for (const name of readdirSync(join(root, "topics")).sort()) {
      const file = join(topicDir(root, name), "topic.json");
      if (!existsSync(file)) continue;
      const saved = JSON.parse(readFileSync(file, "utf8")) as TopicFile;
      state.createTopic(name, saved.partitions, saved.config, saved.overrides ?? []);
      const topic = state.topics.get(name)!;
      const files = topic.partitions.map((p) => new PartitionFiles(join(topicDir(root, name), String(p.index))));
      topic.partitions.forEach((p, i) => files[i]!.load(p));
      store.attach(topic, files);
    }
    store.loadOffsets(state);
    state.store = store;
    return { state, store };
  }

  private attach(topic: Topic, files: PartitionFiles[]): void {
    this.partitions.set(topic.name, files);
    topic.partitions.forEach((p, i) => (p.listener = files[i]));
  }

  // Replays the offset log (last commit wins; a deleted topic or group drops its commits before it), then rewrites it compacted.
  private loadOffsets(state: BrokerState): void {
    const path = join(this.root, "offsets.log");
    const latest = new Map<string, OffsetLine>();
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        try {
          const entry = JSON.parse(line) as OffsetLine | DeletedLine;
          if ("deletedTopic" in entry) {
            for (const [key, e] of latest) if (e.t === entry.deletedTopic) latest.delete(key);
          } else if ("deletedGroup" in entry) {
            for (const [key, e] of latest) if (e.g === entry.deletedGroup) latest.delete(key);
          } else {
            latest.set(JSON.stringify([entry.g, entry.t, entry.p]), entry);
          }
        } catch {
          break; // a torn last line from a crash
        }
      }
    }
    for (const e of latest.values()) state.group(e.g).commit(e.t, e.p, { offset: e.o, metadata: e.m });
    const compacted = [...latest.values()].map((e) => `${JSON.stringify(e)}\n`).join("");
    writeFileSync(`${path}.tmp`, compacted);
    renameSync(`${path}.tmp`, path);
    this.offsetsFd = openSync(path, "a");
  }

  topicCreated(topic: Topic): void {
    if (this.partitions.has(topic.name)) return;
    const dir = topicDir(this.root, topic.name);
    mkdirSync(dir, { recursive: true });
    this.writeTopicFile(topic);
    this.attach(topic, topic.partitions.map((p) => new PartitionFiles(join(dir, String(p.index)))));
  }

  // The new partitions' directories exist before topic.json names them, so a crash between the two loses nothing.
  partitionsAdded(topic: Topic, from: number): void {
    const files = this.partitions.get(topic.name);
    if (!files) return;
    for (const p of topic.partitions.slice(from)) {
      const added = new PartitionFiles(join(topicDir(this.root, topic.name), String(p.index)));
      files.push(added);
      p.listener = added;
    }
    this.writeTopicFile(topic);
  }

  private writeTopicFile(topic: Topic): void {
    const path = join(topicDir(this.root, topic.name), "topic.json");
    const saved: TopicFile = { partitions: topic.partitions.length, config: topic.config, overrides: topic.overrides };
    writeFileSync(`${path}.tmp`, JSON.stringify(saved));
    renameSync(`${path}.tmp`, path);
  }

  topicDeleted(name: string): void {
    for (const files of this.partitions.get(name) ?? []) files.close();
    this.partitions.delete(name);
    rmSync(topicDir(this.root, name), { recursive: true, force: true });
    this.appendDeleted({ deletedTopic: name });
  }

  groupDeleted(groupId: string): void {
    this.appendDeleted({ deletedGroup: groupId });
  }

  private appendDeleted(line: DeletedLine): void {
    writeSync(this.offsetsFd, `${JSON.stringify(line)}\n`);
    this.offsetsDirty = true;
  }

  offsetCommitted(groupId: string, topic: string, partition: number, offset: CommittedOffset): void {
    const line: OffsetLine = { g: groupId, t: topic, p: partition, o: offset.offset, m: offset.metadata };
    writeSync(this.offsetsFd, `${JSON.stringify(line)}\n`);
    this.offsetsDirty = true;
  }

  producerIdsChanged(lastProducerId: number): void {
    const path = join(this.root, "broker.json");
    writeFileSync(`${path}.tmp`, JSON.stringify({ lastProducerId }));
    renameSync(`${path}.tmp`, path);
  }

  /** Flushes everything written since the last flush. */
  fsync(): void {
    for (const files of this.partitions.values()) for (const f of files) f.fsync();
    if (this.offsetsDirty && this.offsetsFd >= 0) fsyncSync(this.offsetsFd);
    this.offsetsDirty = false;
  }

  /** Flushes and closes every file; the directory can then be opened again. */
  close(): void {
    clearInterval(this.timer);
    this.fsync();
    for (const files of this.partitions.values()) for (const f of files) f.close();
    this.partitions.clear();
    if (this.offsetsFd >= 0) closeSync(this.offsetsFd);
    this.offsetsFd = -1;
    rmSync(join(this.root, LOCK), { force: true });
  }
}

const LOCK = ".lock";

// One broker per directory: a lock file with the owner's pid; a stale one (its process gone) is taken over.
function lock(root: string): void {
  const path = join(root, LOCK);
  try {
    writeFileSync(path, String(process.pid), { flag: "wx" });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw DataDirError.failed(root, error);
  }
  const owner = Number(readFileSync(path, "utf8"));
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) throw DataDirError.inUse(root, owner);
  writeFileSync(path, String(process.pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
