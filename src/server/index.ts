export { readServerConfig, type ServerConfig } from '../config/env.js'
export { createServerApp, type ServerAppOptions } from './app.js'
export { type RunningServer, startServer } from './start-server.js'
