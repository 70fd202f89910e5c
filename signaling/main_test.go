package signaling_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the suite if any goroutine outlives it: every test's
// cleanup closes its server (which waits for sessions, legs and rooms),
// peers and browser, so nothing of pion or chromedp is expected to stay.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
