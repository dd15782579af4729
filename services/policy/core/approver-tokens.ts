import { createHash, timingSafeEqual } from 'node:crypto'

// Who may approve or reject a retrain, each with a token of their own. Only sha256 hashes of
// the tokens are configured, and the audit records the owner of the token used, never a name the
// caller chose.

/** Tokens shorter than this are refused: a bearer token must not be guessable. */
export const MIN_TOKEN_BYTES = 32

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex')

export class ApproverTokens {
  private constructor(private readonly entries: { name: string; hash: Buffer }[]) {
    if (entries.length === 0) throw new Error('no approver tokens configured')
    const names = new Set<string>()
    for (const e of entries) {
      if (names.has(e.name)) throw new Error(`approver '${e.name}' is listed twice`)
      names.add(e.name)
    }
  }

  /**
   * `name:sha256hex` entries separated by commas, spaces or new lines (a file: one per line, '#'
   * starts a comment). The hash is of the token's UTF-8 bytes: `printf %s "$TOKEN" | sha256sum`.
   */
  static parse(spec: string, where = 'approver tokens'): ApproverTokens {
    const entries = spec
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join(' ')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((entry) => {
        const match = /^([A-Za-z0-9._@-]{1,100}):([0-9a-fA-F]{64})$/.exec(entry)
        if (!match) throw new Error(`${where}: '${entry.slice(0, 40)}' is not name:sha256-hex (64 hex digits)`)
        return { name: match[1]!, hash: Buffer.from(match[2]!, 'hex') }
      })
    return new ApproverTokens(entries)
  }

  /** One approver with a plain token (kept for single-user setups; at least MIN_TOKEN_BYTES). */
  static single(name: string, token: string): ApproverTokens {
    if (Buffer.byteLength(token) < MIN_TOKEN_BYTES)
      throw new Error(`the approval API token must be at least ${MIN_TOKEN_BYTES} bytes (e.g. openssl rand -hex 32)`)
    return ApproverTokens.parse(`${name}:${tokenHash(token)}`)
  }

  /** The owner of a presented token, or null. Every entry is compared, in constant time each. */
  owner(token: string): string | null {
    const presented = createHash('sha256').update(token).digest()
    let found: string | null = null
    for (const e of this.entries) if (timingSafeEqual(presented, e.hash) && found === null) found = e.name
    return found
  }

  /** From the environment: POLICY_API_TOKENS, POLICY_API_TOKENS_FILE or POLICY_API_TOKEN (null: none). */
  static fromEnv(
    env: { POLICY_API_TOKENS?: string; POLICY_API_TOKENS_FILE?: string; POLICY_API_TOKEN?: string; POLICY_API_TOKEN_OWNER: string },
    readFile: (path: string) => string,
  ): ApproverTokens | null {
    const given = [env.POLICY_API_TOKENS, env.POLICY_API_TOKENS_FILE, env.POLICY_API_TOKEN].filter((v) => v !== undefined && v !== '').length
    if (given > 1) throw new Error('set one of POLICY_API_TOKENS, POLICY_API_TOKENS_FILE and POLICY_API_TOKEN')
    if (env.POLICY_API_TOKENS) return ApproverTokens.parse(env.POLICY_API_TOKENS, 'POLICY_API_TOKENS')
    if (env.POLICY_API_TOKENS_FILE) return ApproverTokens.parse(readFile(env.POLICY_API_TOKENS_FILE), env.POLICY_API_TOKENS_FILE)
    if (env.POLICY_API_TOKEN) return ApproverTokens.single(env.POLICY_API_TOKEN_OWNER, env.POLICY_API_TOKEN)
    return null
  }

  get size(): number {
    return this.entries.length
  }
}
