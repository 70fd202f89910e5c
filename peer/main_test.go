package peer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// peers', the stand-in server's and pion's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
