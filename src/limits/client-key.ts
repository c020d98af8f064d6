import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/**
 * The counting key of a client address. IPv4-mapped IPv6 counts as its IPv4 address, and an IPv6
 * address counts by its /64 prefix: one subscriber usually holds a whole /64, so counting single
 * addresses would give an attacker 2^64 buckets.
 */
export function deriveClientKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv4(ip)) return ip
  const bare = ip.split('%')[0]!
  if (!isIPv6(bare)) return 'unknown'
  const [head = '', tail = ''] = bare.split('::') as [string, string?]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = bare.includes('::')
    ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** Login names and addresses are counted by a hash: no email address sits in Redis in clear. */
export function hashName(name: string): string {
  return createHash('sha256').update(name.trim().toLowerCase()).digest('base64url').slice(0, 22)
}
