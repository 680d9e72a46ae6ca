// Drives the official posthog-node client against a running Gatehouse for
// flags_node_test.go. Run it with the working directory set to the
// posthog-node version to test (testdata/posthog-node5 or
// testdata/posthog-node4); it loads posthog-node from there. The test passes
// its settings in GATEHOUSE_CLIENT (JSON) and reads one JSON object printed
// on stdout.
'use strict'
const { PostHog } = require(require.resolve('posthog-node', { paths: [process.cwd()] }))

const cfg = JSON.parse(process.env.GATEHOUSE_CLIENT)
const quiet = { featureFlagsPollingInterval: 3600000, fetchRetryCount: 0, requestTimeout: 10000 }

async function localFlags(client, ids, wait) {
  if (wait && typeof client.waitForLocalEvaluationReady === 'function') {
    await client.waitForLocalEvaluationReady(10000)
  }
  await client.reloadFeatureFlags()
  const out = {}
  for (const id of ids) {
    out[id] = await client.getAllFlags(id, { personProperties: cfg.props[id] || {}, onlyEvaluateLocally: true })
  }
  return out
}

async function main() {
  const result = { errors: [] }

  // Capture: events go to /batch/ (gzip in 5.x, plain JSON in 4.x).
  const capturer = new PostHog(cfg.token, { host: cfg.host, flushAt: 100, flushInterval: 0, ...quiet })
  for (let i = 0; i < cfg.events; i++) {
    capturer.capture({ distinctId: 'node-client', event: 'node test event', properties: { n: i, sdk: cfg.label } })
  }
  await capturer.flush()
  await capturer.shutdown()

  // Local evaluation with the key under test (a phs_ project secret, or a
  // phx_ personal key) in personalApiKey.
  const local = new PostHog(cfg.token, { host: cfg.host, personalApiKey: cfg.key, ...quiet })
  local.on('error', (e) => result.errors.push('local: ' + String(e && e.message ? e.message : e)))
  result.local = await localFlags(local, cfg.ids, true)
  await local.shutdown()

  // Remote evaluation: no key, so every answer comes from /flags (or /decide).
  const remote = new PostHog(cfg.token, { host: cfg.host, ...quiet })
  result.remote = {}
  for (const id of cfg.ids) {
    result.remote[id] = await remote.getAllFlags(id, { personProperties: cfg.props[id] || {} })
  }
  await remote.shutdown()

  // 5.x only: remote config, evaluateFlags (/flags?v=4), the AI lane and
  // the v1 capture mode.
  if (cfg.extras) {
    const messages = []
    const origLog = console.log
    // The client's debug log goes to console.log; keep it off stdout,
    // which carries the result.
    console.log = (...args) => { messages.push(args.map(String).join(' ')) }

    const keyed = new PostHog(cfg.token, { host: cfg.host, personalApiKey: cfg.key, ...quiet })
    keyed.on('error', (e) => result.errors.push('remote config: ' + String(e && e.message ? e.message : e)))
    result.remoteConfig = await keyed.getRemoteConfigPayload(cfg.remoteConfigKey)
    // The server answers 404 with an empty body, which this client fails
    // to parse: record that it did not get a payload.
    try {
      result.notRemoteConfig = (await keyed.getRemoteConfigPayload('everyone')) ?? null
    } catch (e) {
      result.notRemoteConfig = null
    }
    await keyed.shutdown()

    const evaluator = new PostHog(cfg.token, { host: cfg.host, ...quiet })
    evaluator.debug(true)
    evaluator.on('error', (e) => result.errors.push('evaluateFlags: ' + String(e && e.message ? e.message : e)))
    result.evaluated = {}
    for (const id of cfg.ids) {
      const flags = await evaluator.evaluateFlags(id, { personProperties: cfg.props[id] || {} })
      const out = {}
      for (const key of cfg.flagKeys) out[key] = flags.getFlag(key, { sendFeatureFlagEvents: false }) ?? false
      result.evaluated[id] = out
    }
    await evaluator.shutdown()
    result.v4Warnings = messages.filter((m) => m.includes('may not support'))

    const ai = new PostHog(cfg.token, { host: cfg.host, flushAt: 100, flushInterval: 0, ...quiet })
    ai.on('error', (e) => result.errors.push('ai: ' + String(e && e.message ? e.message : e)))
    ai.captureAi({ distinctId: 'node-ai', event: '$ai_generation', properties: { $ai_model: 'test-model', sdk: cfg.label } })
    await ai.captureAiImmediate({ distinctId: 'node-ai', event: '$ai_span', properties: { sdk: cfg.label } })
    await ai.flush()
    await ai.shutdown()

    process.env.POSTHOG_CAPTURE_MODE = 'v1'
    const v1 = new PostHog(cfg.token, { host: cfg.host, flushAt: 100, flushInterval: 0, ...quiet })
    delete process.env.POSTHOG_CAPTURE_MODE
    v1.on('error', (e) => result.errors.push('v1: ' + String(e && e.message ? e.message : e)))
    result.v1Mode = v1.captureMode
    for (let i = 0; i < 3; i++) v1.capture({ distinctId: 'node-v1', event: 'node v1 event', properties: { n: i } })
    await v1.flush()
    await v1.shutdown()
    console.log = origLog
  }

  // A wrong key loads no definitions: nothing evaluates locally.
  const wrong = new PostHog(cfg.token, { host: cfg.host, personalApiKey: cfg.wrongKey, ...quiet })
  result.wrongErrors = []
  wrong.on('error', (e) => result.wrongErrors.push(String(e && e.message ? e.message : e)))
  result.wrong = await localFlags(wrong, cfg.ids.slice(0, 3), false)
  await wrong.shutdown()

  process.stdout.write(JSON.stringify(result))
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
