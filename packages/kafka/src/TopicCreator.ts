import { KafkaTransportError } from "./errors.ts";

/** Settings of topics the transport creates. */
export interface TopicSettings {
  partitions: number | undefined;
  replicationFactor: number | undefined;
}

/** A topic to create: its name and, unless the broker's defaults apply, partitions and replication factor. */
export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
}

/** What the creator needs of a Kafka client's admin API, whichever client it is. */
export interface TopicAdmin {
  connect(): Promise<void>;
  /** Creates the topics, waiting for their leaders; resolves when they exist (already existing ones included). */
  create(topics: TopicSpec[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Creates missing topics with the configured partitions, once per topic per process: the first
 * send to a topic pays one CreateTopics round trip, later sends pay a map lookup.
 */
export class TopicCreator {
  readonly #admin: TopicAdmin;
  readonly #settings: TopicSettings;
  readonly #exists = new Set<string>();
  readonly #creating = new Map<string, Promise<void>>();
  #connected: Promise<void> | undefined;

  constructor(admin: TopicAdmin, settings: TopicSettings) {
    this.#admin = admin;
    this.#settings = settings;
  }

  /** Resolves once every topic in `topics` exists; undefined when they are all known to exist already. */
  ensure(topics: Iterable<string>): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    let missing: string[] | undefined;
    for (const topic of topics) {
      if (this.#exists.has(topic)) continue;
      const creating = this.#creating.get(topic);
      if (creating) (pending ??= []).push(creating);
      else (missing ??= []).push(topic);
    }
    if (missing) {
      const names = missing;
      // On failure nothing is cached, so the next send tries again instead of failing forever.
      const created = this.#create(names).finally(() => {
        for (const topic of names) this.#creating.delete(topic);
      });
      for (const topic of names) this.#creating.set(topic, created);
      (pending ??= []).push(created);
    }
    return pending && Promise.all(pending).then(noop);
  }

  /** Forgets that these topics exist, so the next ensure() creates them again (a broker lost them). */
  forget(topics: Iterable<string>): void {
    for (const topic of topics) this.#exists.delete(topic);
  }

  /**
   * Creates topics a consumer found gone (an empty broker restarted) again; never rejects (a failure
   * leaves them unknown, so the next ensure() tries again).
   */
  recreate(topics: Iterable<string>): Promise<void> | undefined {
    this.forget(topics);
    return this.ensure(topics)?.catch(noop);
  }

  /** Disconnects the admin client if it was used. */
  async close(): Promise<void> {
    if (this.#connected) await this.#admin.disconnect();
    this.#connected = undefined;
  }

  async #create(topics: string[]): Promise<void> {
    const { partitions, replicationFactor } = this.#settings;
    const specs: TopicSpec[] = topics.map((topic) => ({
      topic,
      ...(partitions === undefined ? {} : { partitions }),
      ...(replicationFactor === undefined ? {} : { replicationFactor }),
    }));
    try {
      await (this.#connected ??= this.#admin.connect());
      await this.#admin.create(specs);
    } catch (error) {
      this.#connected = undefined;
      throw KafkaTransportError.createTopicsFailed(topics, error);
    }
    for (const topic of topics) this.#exists.add(topic);
  }
}

function noop(): void {}
