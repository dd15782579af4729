import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, hideUrlCredentials } from '../../../services/shared/logging/logger.ts'

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString())
      done()
    },
  })
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

describe('logger', () => {
  it('never writes tokens, passwords, authorization headers or credentials in URLs', () => {
    const out = capture()
    const log = createLogger('test', 'info', out.stream)
    log.info(
      { event: 'x', token: 'T0KEN', req: { headers: { authorization: 'Bearer abc' } }, config: { password: 'pw' }, url: 'http://analyst:s3cret@ch:8123/' },
      'to https://u:p4ss@host/x',
    )
    log.error({ event: 'y', err: new Error('boom') }, 'failed')
    const [first, second] = out.lines()
    const text = JSON.stringify(first)
    for (const secret of ['T0KEN', 'Bearer abc', '"pw"', 's3cret', 'p4ss']) expect(text).not.toContain(secret)
    expect(first).toMatchObject({ token: '***', config: { password: '***' }, url: 'http://analyst:***@ch:8123/', msg: 'to https://u:***@host/x' })
    expect(second).toMatchObject({ err: { message: 'boom', type: 'Error' } })
  })

  it('leaves URLs without credentials alone', () => {
    expect(hideUrlCredentials('http://127.0.0.1:8123/?a=b@c')).toBe('http://127.0.0.1:8123/?a=b@c')
    expect(hideUrlCredentials('kafka://broker:9092')).toBe('kafka://broker:9092')
  })
})
