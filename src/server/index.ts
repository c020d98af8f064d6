export { readServerConfig, type ServerConfig } from '../config/env.js'
export {
  createWebhookListener,
  type SecurityEvent,
  type SecurityEventListener,
  type SecurityEventType,
  signWebhookBody,
  type WebhookOptions,
} from '../events/index.js'
export { createServerApp, type ServerAppOptions } from './app.js'
export { createLogger, createRequestLogger, type LoggerOptions } from './logging.js'
export { createServerMetrics, type ServerMetrics, type ServerMetricsOptions } from './metrics.js'
export { createOpenAPIDocument, type OpenAPIDocument, type OpenAPIOptions } from './openapi.js'
export { type RunningServer, startServer } from './start-server.js'
