package peer

import (
	"errors"
	"maps"
	"testing"

	"github.com/threeway-mcu/threeway/codec"
)

// testStream is an encoded stream of role's pattern, frame numbers from
// 0, with key frames where key says.
type testStream struct {
	frames [][]byte
	keys   []bool
}

func encodeTestStream(t *testing.T, role string, n int, key func(i int) bool) testStream {
	t.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 320, Height: 180, FPS: 15, BitrateKbps: 300, KeyframeInterval: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var s testStream
	for i := range n {
		DrawPattern(enc.Input(), role, uint16(i))
		out, k, err := enc.Encode(nil, key(i))
		if err != nil {
			t.Fatal(err)
		}
		s.frames = append(s.frames, out)
		s.keys = append(s.keys, k)
	}
	return s
}

// privateViewer decodes on its own, as every viewer did before sharing.
type privateViewer struct {
	dec   *codec.VP8Decoder
	frame codec.Frame
}

func (p *privateViewer) decode(data []byte) (map[string]Tile, error) {
	if err := p.dec.Decode(data, &p.frame); err != nil {
		return nil, err
	}
	return FindTiles(&p.frame), nil
}

// Viewers of one stream, lagging behind each other or not, get exactly
// what their own decoder would have given them, while each picture is
// decoded once; a viewer whose bytes went another way after the same key
// frame is never handed another stream's picture.
func TestDecodeShareMatchesPrivateDecoding(t *testing.T) {
	const n = 40
	every10 := func(i int) bool { return i%10 == 0 }
	a := encodeTestStream(t, "customer", n, every10)
	b := encodeTestStream(t, "agent", n, func(i int) bool { return i == 0 })
	// forged: b's key frame, then a's inter frames (same bytes as a's,
	// another history), then a's key frame at 10 and a from there.
	forged := testStream{frames: append([][]byte{b.frames[0]}, a.frames[1:]...), keys: append([]bool{true}, a.keys[1:]...)}

	decodes := newDecodeShare()
	type feed struct {
		name    string
		stream  testStream
		lag     int // frames behind the first viewer
		mayFail bool
	}
	feeds := []feed{
		{"a1", a, 0, false}, {"a2", a, 0, false}, {"a3", a, 3, false},
		{"b1", b, 0, false}, {"forged", forged, 0, true},
	}
	viewers := make([]*viewer, len(feeds))
	privates := make([]*privateViewer, len(feeds))
	waitKey := make([]bool, len(feeds))
	for i := range feeds {
		viewers[i] = &viewer{decodes: decodes}
		dec, err := codec.NewVP8Decoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		privates[i] = &privateViewer{dec: dec}
	}
	noRef := 0
	for step := range n + 3 {
		for i, f := range feeds {
			k := step - f.lag
			if k < 0 || k >= n {
				continue
			}
			data, key := f.stream.frames[k], f.stream.keys[k]
			wantTiles, wantErr := privates[i].decode(data)
			if waitKey[i] && !key {
				continue
			}
			waitKey[i] = false
			pic, err := viewers[i].decode(data, key)
			if errors.Is(err, errNoReference) {
				if !f.mayFail {
					t.Fatalf("%s frame %d: no reference", f.name, k)
				}
				noRef++
				waitKey[i] = true
				continue
			}
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%s frame %d: shared error %v, own decoder's %v", f.name, k, err, wantErr)
			}
			if err == nil && !maps.Equal(pic.tiles, wantTiles) {
				t.Fatalf("%s frame %d: shared tiles %v, own decoder's %v", f.name, k, pic.tiles, wantTiles)
			}
		}
	}
	if noRef == 0 {
		t.Error("the forged stream was decoded as if it were another")
	}
	// a once, b once, and forged from a's key frame at 10 on is a again.
	if want := n + n; decodes.decoded != want {
		t.Errorf("%d pictures decoded for %d distinct ones", decodes.decoded, want)
	}
	for _, v := range viewers {
		v.close()
	}
	if len(decodes.heads) != 0 || len(decodes.pictures) != 0 {
		t.Errorf("after every viewer left: %d chains, %d pictures kept", len(decodes.heads), len(decodes.pictures))
	}
}

// A sequence number gap is a loss until a retransmission fills it; the
// counter survives the wrap at 2^16 and is not fooled by duplicates into
// negative loss.
func TestLossCounter(t *testing.T) {
	var c lossCounter
	for _, seq := range []uint16{65533, 65534, 65535, 0, 3, 4} {
		c.packet(seq)
	}
	if c.received != 6 || c.lost() != 2 {
		t.Fatalf("received %d lost %d, want 6 and 2 (1 and 2 missing)", c.received, c.lost())
	}
	c.packet(1) // retransmitted late
	if c.lost() != 1 {
		t.Errorf("after the retransmission lost %d, want 1", c.lost())
	}
	c.packet(4)
	c.packet(4)
	if c.lost() != 0 {
		t.Errorf("duplicates: lost %d, want 0 (never negative)", c.lost())
	}
	var empty lossCounter
	if empty.lost() != 0 {
		t.Error("no packets, yet a loss")
	}
}

// Two calls whose views are byte-identical from a key frame on and then
// part (the load test's calls replay the same loops) decode apart: the
// viewers of neither lose their reference and wait for a key frame, as
// they did when the decode share matched pictures across calls.
func TestDecodeShareKeepsCallsApart(t *testing.T) {
	const n, parting = 20, 8
	a := encodeTestStream(t, "customer", n, func(i int) bool { return i == 0 })
	b := encodeTestStream(t, "customer", n, func(i int) bool { return i == 0 })
	// parted: the same stream as a up to frame parting, then its own.
	c := encodeTestStream(t, "customer", parting, func(i int) bool { return i == 0 })
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 320, Height: 180, FPS: 15, BitrateKbps: 300, KeyframeInterval: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for i := range n {
		DrawPattern(enc.Input(), "customer", uint16(i))
		if i >= parting {
			DrawPattern(enc.Input(), "agent", uint16(i)) // a party joined this call
		}
		out, _, err := enc.Encode(nil, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		if i >= parting {
			c.frames, c.keys = append(c.frames, out), append(c.keys, false)
		}
	}
	if string(a.frames[parting-1]) != string(b.frames[parting-1]) || string(c.frames[parting-1]) != string(a.frames[parting-1]) {
		t.Fatal("the encoder is not deterministic: the test's premise fails")
	}
	if string(c.frames[parting]) == string(a.frames[parting]) {
		t.Fatal("the parted stream did not part")
	}

	for _, tc := range []struct {
		name        string
		groups      [3]string // a's two viewers, the parted stream's viewer
		wantNoRef   bool
		wantDecoded int
	}{
		{"one call", [3]string{"call1", "call1", "call1"}, true, n}, // the parted viewer is left waiting
		{"two calls", [3]string{"call1", "call1", "call2"}, false, 2 * n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decodes := newDecodeShare()
			streams := []testStream{a, a, c}
			viewers := make([]*viewer, 3)
			for i := range viewers {
				viewers[i] = &viewer{decodes: decodes, group: tc.groups[i]}
			}
			noRef := false
			for k := range n {
				for i, v := range viewers {
					if _, err := v.decode(streams[i].frames[k], streams[i].keys[k]); errors.Is(err, errNoReference) {
						noRef = true
					} else if err != nil {
						t.Fatalf("viewer %d frame %d: %v", i, k, err)
					}
				}
			}
			if noRef != tc.wantNoRef {
				t.Errorf("a viewer lost its reference: %v, want %v", noRef, tc.wantNoRef)
			}
			if decodes.decoded != tc.wantDecoded {
				t.Errorf("%d pictures decoded, want %d", decodes.decoded, tc.wantDecoded)
			}
			for _, v := range viewers {
				v.close()
			}
		})
	}
}
