// Package clienttest holds end-to-end tests of the JSON API's feature-flag
// and client-facing endpoints, most of them driven by PostHog's own
// clients: posthog-node 4 and 5 (testdata), posthog-js in headless
// chromium, and posthog-go. It has no code of its own; the tests are a
// package apart from the api package's other tests so that `go test ./...`
// runs the two side by side.
package clienttest
