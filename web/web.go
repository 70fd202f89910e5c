// Package web holds threeway's test page, embedded in the binary: join a
// call in a role, send camera and microphone, see and hear the mix.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page and its script to GET and HEAD; any other
// method gets 405.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; this cannot fail.
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the page is read with GET", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/favicon.ico" {
			// Browsers ask for it whatever the page links; it is the SVG.
			r = r.Clone(r.Context())
			r.URL.Path = "/favicon.svg"
		}
		files.ServeHTTP(w, r)
	})
}
