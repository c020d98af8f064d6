export {
  EventBus,
  SECURITY_EVENT_TYPES,
  type SecurityEvent,
  type SecurityEventInput,
  type SecurityEventListener,
  type SecurityEventType,
} from './events.js'
export { createWebhookListener, signWebhookBody, type WebhookOptions } from './webhook.js'
