package codec

import (
	"testing"
	"time"
)

// CPUTime counts libvpx's work on a codec: creating it always, its frames
// once TimeCPU is on, and freeing it once closed.
func TestVP8CPUTimeCountsCreationFramesAndFreeing(t *testing.T) {
	packets := encodeStream(t, 640, 360, 5)
	e := newTestEncoder(t, 640, 360, 15, 600)
	d := newTestDecoder(t)
	for name, c := range map[string]struct {
		codec interface {
			TimeCPU()
			CPUTime() time.Duration
			Close()
		}
		frame func()
	}{
		"encoder": {e, func() {
			drawPattern(e.Input(), 1)
			if _, _, err := e.Encode(nil, false); err != nil {
				t.Fatal(err)
			}
		}},
		"decoder": {d, func() {
			if err := d.Unpack(packets[0]); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		created := c.codec.CPUTime()
		if created <= 0 {
			t.Errorf("%s: %v in libvpx after creating it, want more than nothing", name, created)
		}
		c.frame()
		if got := c.codec.CPUTime(); got != created {
			t.Errorf("%s: %v after a frame before TimeCPU, want the %v of its creation", name, got, created)
		}
		c.codec.TimeCPU()
		c.frame()
		timed := c.codec.CPUTime()
		if timed <= created {
			t.Errorf("%s: %v after a timed frame, want more than the %v of its creation", name, timed, created)
		}
		c.codec.Close()
		closed := c.codec.CPUTime()
		if closed <= timed {
			t.Errorf("%s: %v once closed, want more than the %v before freeing", name, closed, timed)
		}
		c.codec.Close()
		if again := c.codec.CPUTime(); again != closed {
			t.Errorf("%s: %v after closing twice, want %v", name, again, closed)
		}
	}
}
