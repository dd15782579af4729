/** Where the integration-current project's chDB front listens (CHDB_FRONT_PORT). */
export const CHDB_FRONT_PORT = Number(process.env.CHDB_FRONT_PORT ?? 8124)

/** The ClickHouse release the pinned chDB engine reports (`SELECT version()`). */
export const CHDB_ENGINE_MAJOR = '26.7.'
