import type { ResolvedOptions } from '../config/options.js'
import type { Storage } from '../storage/storage.js'
import type { KeyRing } from '../tokens/keys.js'

/** What the domain functions share: settings, storage and keys. Built once by `createAuth`. */
export interface Engine {
  readonly options: ResolvedOptions
  readonly storage: Storage
  readonly keys: KeyRing
}
