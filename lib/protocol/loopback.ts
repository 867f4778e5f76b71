/** Host names that reach this machine only. */
export const LOOPBACK_NAMES: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** Whether a host name (no port, no brackets) reaches this machine only: localhost, ::1, 127.x.x.x. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}
