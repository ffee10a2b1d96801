// Package ui is Tresor's web UI, served at /ui/ when the configuration says
// ui = true (and always in dev mode).
//
// It is a client of the /v1 API like the CLI: every page is rendered on
// the server from what github.com/hashicorp/vault/api answers for the
// signed-in token, so the UI can show or do nothing the token could not do
// with curl. The server hands New its API handler and mounts the result;
// the UI reaches the API in process, through the whole request pipeline
// (ACL, audit, quotas), without a network hop.
//
// A browser session is a random ID in an HttpOnly, SameSite=Strict cookie
// (Secure over TLS); the token lives only in the server's memory, never in
// a URL, a page or a log. Every state-changing form carries the session's
// CSRF token. Pages are sent with a strict Content-Security-Policy (no
// inline script or style), X-Frame-Options: DENY and Cache-Control:
// no-store. The little JavaScript there is (reveal, copy, download,
// confirm) lives in static/app.js; every page works without it except
// copy and download.
package ui
