package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/peer"
)

// writeTestClip encodes n frames of role's pattern at w x h into an IVF
// file and returns its path.
func writeTestClip(t *testing.T, role string, w, h, n int) string {
	t.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: w, Height: h, FPS: 15, BitrateKbps: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	binary.LittleEndian.PutUint16(hdr[6:], 32)
	copy(hdr[8:], "VP80")
	binary.LittleEndian.PutUint16(hdr[12:], uint16(w))
	binary.LittleEndian.PutUint16(hdr[14:], uint16(h))
	binary.LittleEndian.PutUint32(hdr[16:], 15)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(n))
	file := hdr
	for i := range n {
		peer.DrawPattern(enc.Input(), role, uint16(i))
		out, _, err := enc.Encode(nil, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		var fh [12]byte
		binary.LittleEndian.PutUint32(fh[:], uint32(len(out)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		file = append(append(file, fh[:]...), out...)
	}
	path := filepath.Join(t.TempDir(), role+".ivf")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mediabench composes frame n of every clip into output frame n, however
// its decode and encode threads interleave: runs encode the same bytes.
// It reports every frame and view, and the time in libvpx as part of the
// process's CPU.
func TestMediabenchIsDeterministic(t *testing.T) {
	const frames = 30
	var clips []string
	for _, role := range benchParties {
		clips = append(clips, writeTestClip(t, role, 320, 180, frames))
	}
	for _, tc := range []struct {
		layout string
		views  int
	}{{"equal", 1}, {"max3", 3}} {
		t.Run(tc.layout, func(t *testing.T) {
			first, err := mediabench(clips, tc.layout, 640, 360, 600, 15, 15)
			if err != nil {
				t.Fatal(err)
			}
			if first.Frames != frames || first.Views != tc.views || first.EncodedKB <= 0 {
				t.Fatalf("%d frames, %d views, %.1f kB; want %d, %d, some", first.Frames, first.Views, first.EncodedKB, frames, tc.views)
			}
			if first.LibvpxSecs <= 0 || first.LibvpxSecs > first.CPUSeconds*1.05 {
				t.Errorf("libvpx %.3f s of %.3f s process CPU", first.LibvpxSecs, first.CPUSeconds)
			}
			for range 3 {
				again, err := mediabench(clips, tc.layout, 640, 360, 600, 15, 15)
				if err != nil {
					t.Fatal(err)
				}
				if again.OutputCRC != first.OutputCRC || again.EncodedKB != first.EncodedKB {
					t.Fatalf("encoded %.3f kB (CRC %08x), then %.3f kB (CRC %08x): the pictures differ between runs",
						first.EncodedKB, first.OutputCRC, again.EncodedKB, again.OutputCRC)
				}
			}
		})
	}
	if _, err := mediabench(clips[:2], "equal", 640, 360, 600, 15, 15); err == nil {
		t.Error("two clips accepted")
	}
	if _, err := mediabench(clips, "grid", 640, 360, 600, 15, 15); err == nil {
		t.Error("layout grid accepted")
	}
	// Senders at twice the canvas's rate: every frame decoded, every
	// other one composed.
	half, err := mediabench(clips, "equal", 640, 360, 600, 30, 15)
	if err != nil {
		t.Fatal(err)
	}
	if half.Frames != frames/2 {
		t.Errorf("clips of %d frames at 30 fps on a 15 fps canvas: %d frames out, want %d", frames, half.Frames, frames/2)
	}
}
