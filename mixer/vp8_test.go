package mixer

import (
	"slices"
	"testing"

	"github.com/pion/rtp/codecs"
)

func TestVP8KeyframeStart(t *testing.T) {
	cam := newCamera(t)
	key := cam.frame(true)
	if w, h, k := vp8KeyframeStart(key[0].Payload); !k || w != 640 || h != 360 {
		t.Errorf("key frame's first packet: key %v, %dx%d; want a 640x360 key frame", k, w, h)
	}
	// The key frame's first bytes in a payload that does not start a frame
	// (S clear), or that starts a later partition (PID set), start none.
	for _, c := range []struct {
		what       string
		clear, set byte
	}{{"with S clear", 0x10, 0}, {"as partition 1", 0, 0x01}} {
		payload := slices.Clone(key[0].Payload)
		payload[0] = payload[0]&^c.clear | c.set
		if _, _, k := vp8KeyframeStart(payload); k {
			t.Errorf("the key frame's first packet %s starts a key frame", c.what)
		}
	}
	small := (&codecs.VP8Payloader{EnablePictureID: true}).Payload(100, cam.buf) // the key frame
	if len(small) < 2 {
		t.Fatalf("a key frame cut at 100 bytes is %d packets, want several", len(small))
	}
	if _, _, k := vp8KeyframeStart(small[1]); k {
		t.Error("a key frame's second packet starts a key frame")
	}
	if _, _, k := vp8KeyframeStart(cam.frame(false)[0].Payload); k {
		t.Error("a delta frame starts a key frame")
	}
	if _, _, k := vp8KeyframeStart([]byte{0x10}); k {
		t.Error("a truncated payload starts a key frame")
	}
}

func TestVP8KeyframeSize(t *testing.T) {
	frames := encodeFrames(t, 320, 180, 2)
	if w, h, k := vp8KeyframeSize(frames[0]); !k || w != 320 || h != 180 {
		t.Errorf("key frame: key %v, %dx%d; want a 320x180 key frame", k, w, h)
	}
	if _, _, k := vp8KeyframeSize(frames[1]); k {
		t.Error("a delta frame reads as a key frame")
	}
	if _, _, k := vp8KeyframeSize(frames[0][:9]); k {
		t.Error("a truncated key frame reads as one")
	}
	big := append([]byte(nil), frames[0][:10]...)
	big[6], big[7], big[8], big[9] = 0x00, 0xcf, 0x70, 0x48 // 3840x2160, scaling bits set
	if w, h, k := vp8KeyframeSize(big); !k || w != 3840 || h != 2160 {
		t.Errorf("a 4K key frame with scaling bits reads as key %v, %dx%d", k, w, h)
	}
}
