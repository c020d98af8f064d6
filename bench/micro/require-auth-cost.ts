import type { NextFunction, Request, Response } from 'express'
import { createMicroAuth } from './micro-auth.js'

// What requireAuth costs per call on a reused token, without HTTP: the middleware is called with
// a minimal request and response until `next` runs, COUNT times per round; µs per call, median of
// the rounds. Run: node --import tsx bench/micro/require-auth-cost.ts [rounds] [calls]
const ROUNDS = Number(process.argv[2] ?? '5')
const COUNT = Number(process.argv[3] ?? '200000')

const { auth, signToken } = await createMicroAuth()
const token = await signToken()
const middleware = auth.requireAuth()
const req = {
  method: 'GET',
  headers: { authorization: `Bearer ${token}` },
  get: () => undefined,
} as unknown as Request
const res = {
  setHeader() {
    throw new Error('refused')
  },
} as unknown as Response

function callOnce(): Promise<void> {
  return new Promise<void>((resolve) => {
    void middleware(req, res, resolve as NextFunction)
  })
}

const perCall: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  const started = process.hrtime.bigint()
  for (let i = 0; i < COUNT; i++) await callOnce()
  perCall.push(Number(process.hrtime.bigint() - started) / 1000 / COUNT)
}
perCall.sort((a, b) => a - b)
process.stdout.write(
  `requireAuth, reused token: ${perCall[Math.floor(ROUNDS / 2)]!.toFixed(2)} µs per call\n`,
)
await auth.close()
