declare module 'kafkajs-snappy' {
  /** A kafkajs codec factory for snappy (raw and xerial-framed). */
  const SnappyCodec: () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> }
  export default SnappyCodec
}
