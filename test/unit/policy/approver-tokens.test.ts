import { describe, expect, it } from 'vitest'
import { ApproverTokens, tokenHash } from '../../../services/policy/core/approver-tokens.ts'
import { RefusalLimiter } from '../../../services/policy/core/refusal-limiter.ts'

const A = 'a-token-of-at-least-thirty-two-bytes-1'
const B = 'b-token-of-at-least-thirty-two-bytes-2'

describe('approver tokens', () => {
  it('names the owner of a token, from hashes listed inline or in a file', () => {
    const tokens = ApproverTokens.parse(`# approvers\nalice:${tokenHash(A)}\nbob:${tokenHash(B).toUpperCase()}  # on-call`)
    expect(tokens.size).toBe(2)
    expect(tokens.owner(A)).toBe('alice')
    expect(tokens.owner(B)).toBe('bob')
    expect(tokens.owner(`${A}x`)).toBeNull()
    expect(tokens.owner('')).toBeNull()
    // sha256 of the UTF-8 bytes, as `printf %s "$TOKEN" | sha256sum` prints it.
    expect(tokenHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  const noFile = (path: string): string => {
    throw new Error(`no file ${path} here`)
  }

  it('refuses short plain tokens, malformed entries, duplicates and an ambiguous environment', () => {
    expect(() => ApproverTokens.single('ops', 'short-token')).toThrow(/at least 32 bytes/)
    expect(ApproverTokens.single('ops', A).owner(A)).toBe('ops')
    expect(() => ApproverTokens.parse('alice:1234')).toThrow(/name:sha256-hex/)
    expect(() => ApproverTokens.parse(`alice:${tokenHash(A)},alice:${tokenHash(B)}`)).toThrow(/twice/)
    expect(() => ApproverTokens.parse('')).toThrow(/no approver/)
    expect(() => ApproverTokens.fromEnv({ POLICY_API_TOKENS: `alice:${tokenHash(A)}`, POLICY_API_TOKEN: A, POLICY_API_TOKEN_OWNER: 'x' }, noFile)).toThrow(
      /one of/,
    )
    expect(ApproverTokens.fromEnv({ POLICY_API_TOKEN_OWNER: 'x' }, noFile)).toBeNull()
    const files: Record<string, string> = { '/etc/approvers': `# on-call\ncarol:${tokenHash(B)}\n` }
    expect(ApproverTokens.fromEnv({ POLICY_API_TOKENS_FILE: '/etc/approvers', POLICY_API_TOKEN_OWNER: 'x' }, (p) => files[p]!)?.owner(B)).toBe('carol')
  })
})

describe('refusal limiter', () => {
  it('allows a number of refusals per address and in all per window, then counts the rest', () => {
    let t = 0
    const limiter = new RefusalLimiter(() => t, 2, 3, 1000)
    expect(['a', 'a', 'a', 'b', 'c', 'd'].map((r) => limiter.allow(r))).toEqual([true, true, false, true, false, false])
    expect(limiter.dropped()).toBe(3)
    t = 1000
    expect(limiter.allow('a')).toBe(true)
  })
})
