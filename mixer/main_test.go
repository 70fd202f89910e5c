package mixer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// view, audio clock and placeholder must stop with its Mixer or SFUOutput.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
