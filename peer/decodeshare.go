package peer

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"

	"github.com/threeway-mcu/threeway/codec"
)

// errNoReference means a viewer's inter frame follows a decoder state no
// decoder is in any more: its stream went a way another one with the same
// history went first (two streams of one call with a byte-identical key
// frame, which real views practically never have). It needs a key frame,
// as after a loss: a spurious key frame request, never a wrong picture.
var errNoReference = errors.New("peer: no decoder holds this picture's reference")

// chainMemory is how many recent pictures a chain keeps analysed for
// viewers that receive them later than the first (about 4 s at 15 fps).
const chainMemory = 64

// picture is the analysis of one decoded picture, shared by every viewer
// that received it. Immutable.
type picture struct {
	width, height int
	tiles         map[string]Tile // ReadAt unset
	luma          float64         // mean brightness (pictureLuma)
	err           error           // the decoder's error, if it failed
}

// decodeShare lets the viewers of one view, who receive the same composed
// stream byte for byte, decode and analyse each picture once between them,
// which keeps a load generator's CPU below the server's. A picture is
// shared only when a running hash of the viewer's own bytes since its
// last key frame (the decoder state) matches the shared decoder's.
//
// Calls never share: every call of a load test replays the same loops, so
// two calls' views can be identical for a while and then part, which
// would leave one call's viewers without a reference.
type decodeShare struct {
	seed maphash.Seed
	mu   sync.Mutex
	// pictures holds the chains' recent analyses by the decoder state
	// after them.
	pictures map[uint64]decodedPicture
	// heads holds the chains by the state their decoder is in.
	heads map[uint64]*chain
	// decoded counts the pictures decoded, for tests and benchmarks.
	decoded int
}

// decodedPicture is a picture and the chain that decoded it.
type decodedPicture struct {
	*picture
	chain *chain
}

// chain is one decoder following one stream from a key frame on, and the
// pictures it analysed.
type chain struct {
	mu    sync.Mutex // held while decoding: one picture at a time
	dec   *codec.VP8Decoder
	frame codec.Frame
	scan  tileScanner

	// Guarded by decodeShare.mu.
	state   uint64              // the decoder's state, 0 when unusable
	refs    int                 // viewers following it
	retired bool                // no viewer follows it: its decoder closes
	recent  [chainMemory]uint64 // states of its pictures, a ring
	next    int                 // next slot of recent
}

// decodes is the process's decode share, a package variable for the same
// reason as loops: it holds decoders of streams, not configuration.
var decodes = newDecodeShare()

func newDecodeShare() *decodeShare {
	return &decodeShare{seed: maphash.MakeSeed(), pictures: map[uint64]decodedPicture{}, heads: map[uint64]*chain{}}
}

// viewer is one receiver's place in the decode share. Only its receive
// loop uses it.
type viewer struct {
	decodes *decodeShare
	group   string // the call: viewers share decoders within it only
	chain   *chain // the chain of its last picture
	state   uint64 // the decoder state its last picture left, 0 before any
}

// stateAfter is the decoder state after data following state prev: a key
// frame starts afresh, whatever came before, in the viewer's group.
func (s *decodeShare) stateAfter(group string, prev uint64, data []byte, key bool) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	if key {
		h.WriteString(group)
		h.WriteByte(0)
	} else {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], prev)
		h.Write(b[:])
	}
	h.Write(data)
	return h.Sum64() | 1 // never 0, which means "no state"
}

// decode returns the analysis of the picture data (a key frame if key)
// that follows the viewer's last one, decoding it only if no viewer with
// the same stream did yet. The error is the decoder's, or errNoReference.
func (v *viewer) decode(data []byte, key bool) (*picture, error) {
	var retired []*chain
	defer func() {
		for _, c := range retired {
			c.mu.Lock()
			c.dec.Close()
			c.mu.Unlock()
		}
	}()
	s := v.decodes
	next := s.stateAfter(v.group, v.state, data, key)
	s.mu.Lock()
	if pic, ok := s.pictures[next]; ok {
		retired = v.move(pic.chain, next)
		s.mu.Unlock()
		return pic.picture, pic.err
	}
	c := s.heads[v.state]
	s.mu.Unlock()
	switch {
	case key:
		dec, err := codec.NewVP8Decoder()
		if err != nil {
			return nil, err
		}
		c = &chain{dec: dec}
		retired = append(retired, c) // unless it becomes someone's
	case c == nil || v.state == 0:
		return nil, errNoReference
	}
	pic, more := v.decodeIn(c, data, key, next)
	retired = append(retired, more...)
	if key {
		s.mu.Lock()
		if c.refs > 0 {
			retired = retired[1:] // the new chain is in use
		}
		s.mu.Unlock()
	}
	if pic == nil {
		return nil, errNoReference
	}
	return pic, pic.err
}

// decodeIn decodes data in c, which must still be at the viewer's state
// for an inter frame, and publishes the picture. It returns nil if c is
// no longer where the viewer was, and the chains to close.
func (v *viewer) decodeIn(c *chain, data []byte, key bool, next uint64) (*picture, []*chain) {
	s := v.decodes
	c.mu.Lock()
	defer c.mu.Unlock()
	s.mu.Lock()
	if pic, ok := s.pictures[next]; ok { // decoded while we waited
		retired := v.move(pic.chain, next)
		s.mu.Unlock()
		return pic.picture, retired
	}
	if c.retired || (!key && c.state != v.state) {
		s.mu.Unlock()
		return nil, nil
	}
	s.mu.Unlock()

	pic := &picture{}
	if pic.err = c.dec.Decode(data, &c.frame); pic.err == nil {
		pic.width, pic.height = c.frame.Width, c.frame.Height
		pic.tiles = c.scan.find(&c.frame)
		pic.luma = pictureLuma(&c.frame)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.decoded++
	if s.heads[c.state] == c {
		delete(s.heads, c.state)
	}
	c.state = 0 // a failed decoder is no reference for anything
	if pic.err == nil || errors.Is(pic.err, codec.ErrNoFrame) {
		c.state = next
		s.heads[next] = c
	}
	if old := c.recent[c.next]; old != 0 {
		delete(s.pictures, old)
	}
	c.recent[c.next] = next
	c.next = (c.next + 1) % chainMemory
	s.pictures[next] = decodedPicture{pic, c}
	return pic, v.move(c, next)
}

// move puts the viewer at state on chain c and returns the chain it left
// if that was its last viewer. s.mu must be held.
func (v *viewer) move(c *chain, state uint64) []*chain {
	v.state = state
	if c == v.chain {
		return nil
	}
	old := v.chain
	v.chain = c
	if c != nil {
		c.refs++
	}
	if old == nil {
		return nil
	}
	if old.refs--; old.refs > 0 {
		return nil
	}
	v.decodes.retire(old)
	return []*chain{old}
}

// retire forgets a chain no viewer follows; its caller closes the decoder
// once no locks are held. s.mu must be held.
func (s *decodeShare) retire(c *chain) {
	if s.heads[c.state] == c {
		delete(s.heads, c.state)
	}
	for i, st := range c.recent {
		if st != 0 {
			delete(s.pictures, st)
			c.recent[i] = 0
		}
	}
	c.state, c.retired = 0, true
}

// close leaves the decode share, at the end of the viewer's stream.
func (v *viewer) close() {
	v.decodes.mu.Lock()
	retired := v.move(nil, 0)
	v.decodes.mu.Unlock()
	for _, c := range retired {
		c.mu.Lock()
		c.dec.Close()
		c.mu.Unlock()
	}
}
