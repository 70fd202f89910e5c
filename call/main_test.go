package call

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leave a goroutine running:
// help timers and Notifier fakes must all have stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
