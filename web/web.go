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

// Handler serves the page and its script.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The embedded tree is fixed at build time; this cannot fail.
		panic(err)
	}
	return http.FileServerFS(sub)
}
