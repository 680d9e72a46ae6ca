// Package archtest holds the test that keeps Gatehouse's imports pointing one
// way: adapters depend on the domain package, never the reverse; nothing
// imports cmd; only the HTTP layer and main import the HTTP layer; and the
// JSON API and the web pages never import each other. CI runs it with the
// other tests. The package has no code of its own.
package archtest
