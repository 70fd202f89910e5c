package peer

import "sync"

// tasks are the goroutines of a Peer and its legs, which Close waits for.
// mu guards stopped, so that no goroutine is added to wg once Close has
// begun waiting.
type tasks struct {
	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

// spawn runs f on a goroutine that wait waits for, unless the tasks are
// stopped (then f does not run and spawn returns false).
func (t *tasks) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.wg.Go(f)
	return true
}

// stop makes every later spawn refuse.
func (t *tasks) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
}

// isStopped reports whether stop was called.
func (t *tasks) isStopped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopped
}

// wait waits for every goroutine spawned.
func (t *tasks) wait() {
	t.wg.Wait()
}

// notifier wakes everyone waiting for a change of what the Peer's waits
// look at: a server message, a leg's state or its negotiation. mu guards
// ch.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that is closed at the next notify.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// notify wakes every waiter.
func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
