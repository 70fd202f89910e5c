package mixer

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// discardCounter counts the packets the mixer drops unread.
type discardCounter struct {
	NopObserver
	n atomic.Int32
}

func (d *discardCounter) PacketDiscarded() { d.n.Add(1) }

// packetsReader yields its packets, then io.EOF.
type packetsReader [][]byte

func (r *packetsReader) Read(b []byte) (int, interceptor.Attributes, error) {
	if len(*r) == 0 {
		return 0, nil, io.EOF
	}
	n := copy(b, (*r)[0])
	*r = (*r)[1:]
	return n, nil, nil
}

func marshalRTP(t *testing.T, seq uint16, payload []byte) []byte {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Garbage is dropped, never silently: a packet that is no RTP, and an
// audio packet with no Opus frame in it, each show in the observer (and
// so in /metrics), and the ingest goes on to the end of its track.
func TestDiscardedPacketsAreCounted(t *testing.T) {
	var obs discardCounter
	m := newMixer(Params{Width: 640, Height: 360, FPS: 15, Logger: slog.New(slog.DiscardHandler), Observer: &obs}) // no mix needed
	defer m.Close()

	audio := packetsReader{{0xde, 0xad}, marshalRTP(t, 1, nil), marshalRTP(t, 2, []byte{0xfc, 0xff, 0xfe})}
	if err := m.IngestAudio("customer", &audio); !errors.Is(err, io.EOF) {
		t.Fatalf("audio ingest ended with %v, want the track's end", err)
	}
	if n := obs.n.Load(); n != 2 {
		t.Errorf("audio: %d packets counted as discarded, want 2 (no RTP, no Opus frame)", n)
	}

	video := packetsReader{{0x80}, {0xff, 0xff, 0xff}}
	if err := m.IngestVideo("agent", &video, nil); !errors.Is(err, io.EOF) {
		t.Fatalf("video ingest ended with %v, want the track's end", err)
	}
	if n := obs.n.Load(); n != 4 {
		t.Errorf("after video: %d packets counted as discarded, want 4", n)
	}
}
