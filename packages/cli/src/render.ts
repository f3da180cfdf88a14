import Table from "cli-table3";
import pc from "picocolors";
import type { AuditEntry, AuditVersion, FieldChange } from "@koper/core";
import { formatTime } from "./time.ts";

type Colors = ReturnType<typeof pc.createColors>;

/** A value as a cell shows it: strings bare, absent as ∅, Dates as ISO, bigints as digits, bytes as hex, everything else as JSON. */
function show(value: unknown): string {
  if (value === undefined) return "∅";
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, 32)).toString("hex");
    return `<${value.length} bytes ${hex}${value.length > 32 ? "…" : ""}>`;
  }
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function keyOf(entry: AuditEntry): string {
  const key = entry.key ?? {};
  const values = Object.values(key);
  return values.length === 1 ? show(values[0]) : JSON.stringify(key);
}

function actionCell(entry: AuditEntry, c: Colors): string {
  const paint = { insert: c.green, update: c.yellow, delete: c.red, forget: c.magenta }[entry.action];
  const label = paint(entry.action);
  return entry.outcome === "failed" ? `${label} ${c.red(c.bold("FAILED"))}` : label;
}

function diffLines(diff: readonly FieldChange[], c: Colors): string {
  return diff.map((change) => `${c.bold(change.field)}: ${c.dim(show(change.from))} → ${show(change.to)}`).join("\n");
}

function fieldList(entry: AuditEntry): string {
  if (entry.action === "delete") return "(row deleted)";
  return (entry.changes.length > 0 ? entry.changes : Object.keys(entry.after ?? {})).join(", ");
}

function details(entry: AuditVersion | AuditEntry, c: Colors): string {
  if (entry.action === "forget") {
    const fields = (entry.after?.fields as string[] | undefined) ?? [];
    return c.magenta(`erased ${fields.join(", ")} from ${String(entry.after?.rows ?? 0)} row(s)`);
  }
  if (entry.bulk) {
    const { criteria, set, affected } = entry.bulk;
    const where = criteria === null ? "(all rows)" : criteria.kind === "where" ? show(criteria.where) : criteria.sql;
    return `bulk where ${where}\nset ${show(set ?? {})}\n${affected ?? "?"} row(s)`;
  }
  const lines = "diff" in entry ? diffLines(entry.diff, c) : fieldList(entry);
  return entry.error ? `${lines}\n${c.red(`${entry.error.code}: ${entry.error.message}`)}` : lines;
}

function table(head: string[], c: Colors): Table.Table {
  return new Table({ head: head.map((h) => c.cyan(h)), style: { head: [], border: [] }, wordWrap: true, colWidths: [] });
}

/** A row's history as a table of versions: when, who, what, and each field's change from → to. */
export function renderHistory(entity: string, key: string, versions: readonly AuditVersion[], color: boolean): string {
  const c = pc.createColors(color);
  if (versions.length === 0) return `No audit history for ${entity} ${key}.\n`;
  const out = table(["#", "when (UTC)", "who", "action", "changes (from → to)", "transaction"], c);
  versions.forEach((v, i) => {
    out.push([String(i + 1), formatTime(v.time.committed ?? v.time.occurred), v.actor ?? c.dim("-"), actionCell(v, c), details(v, c), c.dim(`${v.transaction.id.slice(0, 8)}#${v.transaction.position}`)]);
  });
  return `${c.bold(`${entity} ${key}`)}: ${versions.length} version(s)\n${out.toString()}\n`;
}

/** A page of changes as a table: when, who, which row, what; with `more`, how to ask for the next page. */
export function renderChanges(entries: readonly AuditEntry[], color: boolean, more?: string): string {
  const c = pc.createColors(color);
  if (entries.length === 0) return "No changes match.\n";
  const out = table(["when (UTC)", "who", "entity", "key", "action", "fields"], c);
  for (const e of entries) {
    out.push([formatTime(e.time.committed ?? e.time.occurred), e.actor ?? c.dim("-"), e.entity, keyOf(e), actionCell(e, c), details(e, c)]);
  }
  const next = more === undefined ? "" : `more: add --cursor ${more}\n`;
  return `${out.toString()}\n${entries.length} change(s)\n${next}`;
}
