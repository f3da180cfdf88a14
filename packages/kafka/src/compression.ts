import { promisify } from "node:util";
import * as zlib from "node:zlib";
import kafkajs, { CompressionTypes } from "kafkajs";
import { ConfigError } from "@koper/core";

/** A codec of produced batches: by name, or a kafkajs `CompressionTypes` value whose codec is plugged in. */
export type Compression = "none" | "gzip" | "zstd" | CompressionTypes;

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

type ZstdZlib = { zstdCompress?: typeof zlib.gzip; zstdDecompress?: typeof zlib.gunzip };
const zstd = zlib as unknown as ZstdZlib;
let zstdCodec: Codec | undefined;
// kafkajs's codec registry; Node's ESM loader does not see it as a named export of the CommonJS module.
const { CompressionCodecs } = kafkajs;

/**
 * Plugs node:zlib's zstd (Node ≥ 22.15 / 23.8, nothing native to build) into kafkajs, whose codec
 * registry is process-wide, so this consumer reads zstd batches from any producer. A codec the
 * application plugged in itself is left in place. False when this Node has no zstd.
 */
export function registerZstd(): boolean {
  if (!zstd.zstdCompress || !zstd.zstdDecompress) return false;
  if (zstdCodec || hasCodec(CompressionTypes.ZSTD)) return true;
  const compress = promisify(zstd.zstdCompress);
  const decompress = promisify(zstd.zstdDecompress);
  const codec: Codec = {
    compress: (encoder) => compress(encoder.buffer),
    decompress: (buffer) => decompress(buffer),
  };
  zstdCodec = codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => codec;
  return true;
}

/**
 * The `compression` option as kafkajs's type; a codec kafkajs cannot use here is a `ConfigError` now,
 * not at the first send. `zstd`: what `registerZstd()` returned (the transport registers it once, first).
 */
export function compressionType(compression: Compression | undefined, zstd: boolean): CompressionTypes {
  if (compression === undefined || compression === "none" || compression === CompressionTypes.None) return CompressionTypes.None;
  if (compression === "gzip" || compression === CompressionTypes.GZIP) return CompressionTypes.GZIP;
  if (compression === "zstd" || compression === CompressionTypes.ZSTD) {
    if (!zstd) throw ConfigError.invalidOption("compression", `zstd needs Node >= 22.15 (node:zlib's zstd), this is ${process.version}; use "gzip"`);
    return CompressionTypes.ZSTD;
  }
  if (typeof compression === "number" && hasCodec(compression)) return compression;
  throw ConfigError.invalidOption(
    "compression",
    `${String(compression)} has no codec in kafkajs; use "gzip" or "zstd", or plug one into kafkajs's CompressionCodecs first`,
  );
}

// kafkajs's placeholders for codecs it lacks throw when looked up.
function hasCodec(type: CompressionTypes): boolean {
  const lookup = (CompressionCodecs as Record<number, (() => unknown) | undefined>)[type];
  if (!lookup) return false;
  try {
    return lookup() !== undefined;
  } catch {
    return false;
  }
}
