package netcond

import (
	"container/heap"
	"sync"
	"time"
)

// schedule delivers delayed datagrams at their due times, each on its
// own, so that jitter reorders them. One timer serves a whole Net: it is
// set for the earliest due delivery, and its callback runs every
// delivery due by then, in due order (send order for equal times).
//
// mu guards the fields below it; deliver, held across a callback's
// deliveries, keeps two callbacks from overtaking each other.
type schedule struct {
	deliver sync.Mutex

	mu     sync.Mutex
	queue  deliveries
	timer  *time.Timer
	next   uint64 // send order of the next delivery
	closed bool
}

// delivery is one datagram's handover at its due time.
type delivery struct {
	due  time.Time
	seq  uint64
	send func()
}

// at runs send at due (at once, on its own goroutine, if due has
// passed) unless the schedule is closed first.
func (s *schedule) at(due time.Time, send func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	heap.Push(&s.queue, delivery{due: due, seq: s.next, send: send})
	s.next++
	if s.queue[0].seq != s.next-1 {
		return // an earlier delivery has set the timer
	}
	wait := time.Until(due)
	if s.timer == nil {
		s.timer = time.AfterFunc(wait, s.run)
		return
	}
	s.timer.Reset(wait)
}

// run delivers everything due, then sets the timer for what is left.
func (s *schedule) run() {
	s.deliver.Lock()
	defer s.deliver.Unlock()
	for {
		s.mu.Lock()
		var due []delivery
		now := time.Now()
		for len(s.queue) > 0 && !s.queue[0].due.After(now) {
			due = append(due, heap.Pop(&s.queue).(delivery))
		}
		if len(due) == 0 {
			if len(s.queue) > 0 && !s.closed {
				s.timer.Reset(time.Until(s.queue[0].due))
			}
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, d := range due {
			d.send()
		}
	}
}

// close drops every delivery still to come.
func (s *schedule) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.queue = nil
	if s.timer != nil {
		s.timer.Stop()
	}
}

// deliveries is a min-heap by due time, then send order.
type deliveries []delivery

func (q deliveries) Len() int { return len(q) }
func (q deliveries) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].seq < q[j].seq
	}
	return q[i].due.Before(q[j].due)
}
func (q deliveries) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveries) Push(x any)   { *q = append(*q, x.(delivery)) }
func (q *deliveries) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}
