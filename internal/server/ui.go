package server

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/tresorhq/tresor/internal/ui"
)

// withUI serves the web UI at /ui/ beside the API (ui = true in the
// configuration, always in dev mode) and sends a browser asking for / to
// it, as Vault does. The UI reaches the API through apiHandler in process.
func withUI(apiHandler http.Handler, logger *slog.Logger) http.Handler {
	u := ui.New(apiHandler, ui.Options{Logger: logger})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/"):
			u.ServeHTTP(w, r)
		case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/ui/", http.StatusTemporaryRedirect)
		default:
			apiHandler.ServeHTTP(w, r)
		}
	})
}
