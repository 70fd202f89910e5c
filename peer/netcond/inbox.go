package netcond

import (
	"net"
	"os"
	"sync"

	"github.com/pion/transport/v5/deadline"
)

// inboxSize is how many datagrams a socket holds for its reader before it
// drops new ones, as a full kernel buffer does.
const inboxSize = 1024

// chunk is one datagram, or one piece of a TCP stream (addr nil).
type chunk struct {
	data []byte
	addr net.Addr
}

// inbox holds what has arrived for a socket's reader, in arrival order,
// with the reader's deadline. mu guards the fields below it.
type inbox struct {
	ready    chan struct{} // one token: something arrived or it closed
	deadline *deadline.Deadline
	stream   bool // a TCP stream's: never full, since nothing may drop

	mu    sync.Mutex
	queue []chunk
	err   error // once closed: what take returns when the queue is empty
}

func newInbox(stream bool) *inbox {
	return &inbox{ready: make(chan struct{}, 1), deadline: deadline.New(), stream: stream}
}

// put hands c to the reader; false if the inbox is full or closed.
func (b *inbox) put(c chunk) bool {
	b.mu.Lock()
	ok := b.err == nil && (b.stream || len(b.queue) < inboxSize)
	if ok {
		b.queue = append(b.queue, c)
	}
	b.mu.Unlock()
	b.wake()
	return ok
}

func (b *inbox) wake() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// take waits for the next chunk until the deadline passes (a timeout) or
// the inbox is closed and empty (the error it was closed with).
func (b *inbox) take() (chunk, error) {
	for {
		b.mu.Lock()
		switch {
		case len(b.queue) > 0:
			c := b.queue[0]
			b.queue[0] = chunk{}
			b.queue = b.queue[1:]
			more := len(b.queue) > 0
			b.mu.Unlock()
			if more {
				b.wake() // another reader may wait
			}
			return c, nil
		case b.err != nil:
			err := b.err
			b.mu.Unlock()
			b.wake()
			return chunk{}, err
		}
		b.mu.Unlock()
		select {
		case <-b.ready:
		case <-b.deadline.Done():
			return chunk{}, os.ErrDeadlineExceeded
		}
	}
}

// close ends the inbox with err: what it holds is still read, unless
// drop throws it away (the socket itself closed).
func (b *inbox) close(err error, drop bool) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	if drop {
		b.queue = nil
	}
	b.mu.Unlock()
	b.wake()
}
