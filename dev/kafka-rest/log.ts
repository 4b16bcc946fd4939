import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The development broker's storage: topics of N partitions, each an append-only list of records
 * with per-partition offsets, and the offsets each consumer group committed. Every change is
 * appended as one JSON line to a journal file (when one is given) and replayed on start, so a
 * restarted broker has every record and every committed offset it had before.
 */

export interface StoredRecord {
  offset: number;
  /** Epoch ms. */
  timestamp: number;
  /** The key's bytes, base64; null for an unkeyed record. */
  key: string | null;
  /** The value's bytes, base64; null for a tombstone. */
  value: string | null;
  headers: Array<{ name: string; value: string | null }>;
}

type JournalLine =
  | { op: "topic"; name: string; partitions: number }
  | { op: "record"; topic: string; partition: number; record: StoredRecord }
  | { op: "commit"; group: string; topic: string; partition: number; offset: number };

export class KafkaLog {
  readonly #topics = new Map<string, StoredRecord[][]>();
  /** group → "topic/partition" → the next offset the group reads. */
  readonly #committed = new Map<string, Map<string, number>>();
  readonly #journal: string | undefined;

  constructor(journal?: string) {
    this.#journal = journal;
    if (!journal) return;
    mkdirSync(dirname(journal), { recursive: true });
    if (!existsSync(journal)) return;
    for (const line of readFileSync(journal, "utf8").split("\n")) {
      if (line.trim()) this.#apply(JSON.parse(line) as JournalLine);
    }
  }

  #write(line: JournalLine): void {
    if (this.#journal) appendFileSync(this.#journal, `${JSON.stringify(line)}\n`);
    this.#apply(line);
  }

  #apply(line: JournalLine): void {
    switch (line.op) {
      case "topic":
        this.#topics.set(
          line.name,
          Array.from({ length: line.partitions }, () => []),
        );
        break;
      case "record":
        this.#topics.get(line.topic)?.[line.partition]?.push(line.record);
        break;
      case "commit": {
        const offsets = this.#committed.get(line.group) ?? new Map<string, number>();
        offsets.set(`${line.topic}/${line.partition}`, line.offset);
        this.#committed.set(line.group, offsets);
        break;
      }
    }
  }

  topics(): string[] {
    return [...this.#topics.keys()].sort();
  }

  partitions(topic: string): number | undefined {
    return this.#topics.get(topic)?.length;
  }

  createTopic(name: string, partitions: number): boolean {
    if (this.#topics.has(name)) return false;
    this.#write({ op: "topic", name, partitions });
    return true;
  }

  /** Appends a record; its offset is the partition's length before it. */
  append(topic: string, partition: number, record: Omit<StoredRecord, "offset">): StoredRecord {
    const log = this.#topics.get(topic)?.[partition];
    if (!log) throw new Error(`no partition ${topic}/${partition}`);
    const stored = { ...record, offset: log.length };
    this.#write({ op: "record", topic, partition, record: stored });
    return stored;
  }

  /** Records of a partition from `offset` on, at most `limit`. */
  read(topic: string, partition: number, offset: number, limit: number): StoredRecord[] {
    return this.#topics.get(topic)?.[partition]?.slice(offset, offset + limit) ?? [];
  }

  /** The offset the next record of a partition will get. */
  end(topic: string, partition: number): number {
    return this.#topics.get(topic)?.[partition]?.length ?? 0;
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    return this.#committed.get(group)?.get(`${topic}/${partition}`);
  }

  commit(group: string, topic: string, partition: number, nextOffset: number): void {
    this.#write({ op: "commit", group, topic, partition, offset: nextOffset });
  }
}
