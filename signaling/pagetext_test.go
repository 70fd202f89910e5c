package signaling

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every error code PROTOCOL.md lists has a sentence on the page
// (web/static/call.js's refusals), for a server that sends no message.
func TestEveryCodeHasASentenceOnThePage(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "web", "static", "call.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(page), "const refusals = {")
	table, _, _ = strings.Cut(table, "};")
	for code := range documentedCodes(t) {
		if !regexp.MustCompile(`(?m)^\s*` + code + `: "[A-Z].+\.",?$`).MatchString(table) {
			t.Errorf("call.js's refusals has no sentence for %s", code)
		}
	}
}
