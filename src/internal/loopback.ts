/**
 * Whether `hostname` (a URL's `hostname`: IPv6 in brackets or not) names this machine: `localhost`
 * and `*.localhost` (RFC 6761), 127.0.0.0/8 and `::1`. Traffic to such a host never leaves the
 * machine, which is what the places that relax a TLS or origin rule for loopback rely on.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  )
}
