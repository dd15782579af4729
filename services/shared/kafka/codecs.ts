import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm'
import { decompress as zstdDecompress } from 'fzstd'
import kafkajs from 'kafkajs'
import SnappyCodec from 'kafkajs-snappy'
import { compressFrame, decompressFrame } from 'lz4-napi'

// kafkajs ships gzip only; producers built on librdkafka or the Java client often use snappy,
// lz4 or zstd, and a batch kafkajs cannot decompress stops the partition. Kafka's lz4 is the LZ4
// frame format; snappy comes raw or xerial-framed (Java), both read by kafkajs-snappy; zstd is
// decompressed by fzstd, which also reads frames without a content size (librdkafka streams them).

interface Encoder {
  buffer: Buffer
}

const lz4 = { compress: (encoder: Encoder) => compressFrame(encoder.buffer), decompress: (buffer: Buffer) => decompressFrame(buffer) }

let zstdReady: Promise<void> | null = null
const zstd = {
  async compress(encoder: Encoder): Promise<Buffer> {
    await (zstdReady ??= zstdInit())
    return Buffer.from(zstdCompress(encoder.buffer, 3))
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return Buffer.from(zstdDecompress(buffer))
  },
}

/** Registers snappy, lz4 and zstd with kafkajs (gzip is built in). Idempotent. */
export function registerCodecs(): void {
  // CommonJS exports that Node's named-import detection misses.
  const { CompressionCodecs, CompressionTypes } = kafkajs
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstd
}
