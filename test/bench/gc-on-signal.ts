// Preloaded into a monitor child by the memory phase (node --expose-gc --import tsx --import
// this file): SIGUSR2 runs a full garbage collection, so the heap and RSS read afterwards from
// /metrics are what the process holds, not garbage that no collection has reclaimed yet.
const gc = (globalThis as { gc?: () => void }).gc
if (gc) process.on('SIGUSR2', () => gc())
