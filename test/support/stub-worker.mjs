// A stand-in worker process for executor tests: it lives until it is signalled.
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
