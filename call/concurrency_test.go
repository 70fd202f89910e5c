package call

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// Many goroutines drive the Center at once (calls, layouts, help, answers,
// timeouts); run with -race. Afterwards every call has ended, nobody is
// left busy, nothing was said about a call after it ended, and snapshots
// came out in order.
func TestConcurrentUse(t *testing.T) {
	const (
		workers    = 4
		helpers    = 3
		iterations = 60
	)
	dir := Directory{Queues: []Queue{{"q", "Queue"}}}
	for i := range workers {
		dir.Agents = append(dir.Agents, Agent{ID: fmt.Sprintf("w%d", i), Name: fmt.Sprintf("Worker %d", i)})
	}
	for i := range helpers {
		dir.Agents = append(dir.Agents, Agent{ID: fmt.Sprintf("h%d", i), Name: fmt.Sprintf("Helper %d", i), Skills: []string{"q"}})
	}
	f := newFixture(t, withDirectory(dir))
	for i := range helpers {
		_, err := f.c.SignIn(fmt.Sprintf("h%d", i))
		f.must(err)
	}

	var work, background sync.WaitGroup
	stop := make(chan struct{})

	// The calls: each worker agent runs calls one after another.
	for w := range workers {
		work.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			me := fmt.Sprintf("w%d", w)
			for range iterations {
				id, err := f.c.CreateCall("Customer", me)
				if err != nil {
					t.Error(err)
					return
				}
				f.c.Join(id, Customer, "", "")
				f.c.Join(id, AgentRole, "", me)
				var rid string
				for range 10 {
					r := Roles[rng.IntN(len(Roles))]
					switch rng.IntN(9) {
					case 0:
						rid, _ = f.c.RequestHelp(id, AgentRole, byQueue("q"))
					case 1:
						f.c.CancelHelp(id, AgentRole, rid)
					case 2:
						f.c.SetLayout(id, r, Layout{Mode: layout.Maximize, Party: Roles[rng.IntN(3)]})
					case 3:
						f.c.SetLayout(id, r, EqualLayout)
					case 4:
						f.c.SetVideo(id, r, rng.IntN(2) == 0)
					case 5:
						f.c.StartShare(id, r)
					case 6:
						f.c.StopShare(id, r)
					case 7:
						f.c.DropParty(id, AgentRole, Third)
					case 8:
						f.c.Leave(id, AgentRole, ReasonHangup)
						f.c.Join(id, AgentRole, "", me)
					}
					f.c.Snapshot(id)
					runtime.Gosched() // give the helpers a chance to answer
				}
				f.c.Leave(id, Customer, ReasonHangup)
				f.c.Leave(id, AgentRole, ReasonHangup)
			}
		})
	}
	// The helpers answer what they are offered, and sometimes hang up.
	for h := range helpers {
		background.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(h), 2))
			me := fmt.Sprintf("h%d", h)
			seen := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				var news []note
				news, seen = f.rec.since(seen)
				for _, n := range news {
					offer, ok := n.ev.(HelpOffer)
					if !ok || n.agent != me {
						continue
					}
					switch rng.IntN(4) {
					case 0:
						f.c.RejectHelp(me, offer.Request)
					case 1:
						// let it ring out
					default:
						f.c.AcceptHelp(me, offer.Request)
						if rng.IntN(3) == 0 {
							f.c.Leave(offer.Call, Third, ReasonHangup)
						}
					}
					f.c.Agents()
					f.c.Queues()
					f.c.Counts()
				}
				runtime.Gosched()
			}
		})
	}
	// Time passes: offers time out.
	background.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				f.clock.Advance(testHelpTimeout / 4)
				runtime.Gosched()
			}
		}
	})

	work.Wait()
	close(stop)
	background.Wait()
	for _, a := range f.c.Agents() {
		if a.Call != "" {
			f.c.Leave(a.Call, Third, ReasonHangup) // a helper still in a call
		}
	}
	f.clock.Advance(time.Hour)

	if n := f.c.Counts(); n.Calls != 0 || n.Help != 0 || len(n.Parties) != 0 {
		t.Errorf("left over: %+v, want no calls, parties or requests", n)
	}
	for _, a := range f.c.Agents() {
		want := Offline
		if a.Skills != nil {
			want = Idle
		}
		if a.State != want || a.Call != "" {
			t.Errorf("%s is %s in %q, want %s", a.ID, a.State, a.Call, want)
		}
	}
	if n := f.clock.pending(); n != 0 {
		t.Errorf("%d timers left", n)
	}

	ended := map[string]bool{}
	var seq uint64
	for _, n := range f.rec.all() {
		if n.call != "" && ended[n.call] {
			t.Errorf("after call %s ended: %+v", n.call, n)
		}
		if n.snap != nil {
			if n.snap.Seq <= seq {
				t.Errorf("snapshot seq %d after %d", n.snap.Seq, seq)
			}
			seq = n.snap.Seq
			ended[n.call] = n.snap.Ended
		}
	}
	kinds := map[string]int{}
	for _, n := range f.rec.all() {
		switch e := n.ev.(type) {
		case HelpProgress:
			if n.role == Customer {
				kinds["progress "+string(e.State)]++
			}
		case HelpFailed:
			if n.role == Customer {
				kinds["failed "+e.Reason]++
			}
		case HelpWithdrawn:
			kinds["withdrawn "+e.Reason]++
		case Left:
			kinds["left "+e.Reason]++
		case LayoutReset, ShareStopped:
			kinds[e.EventType()]++
		}
	}
	t.Logf("what happened: %v", kinds)
	if len(ended) != workers*iterations {
		t.Errorf("%d calls seen, want %d", len(ended), workers*iterations)
	}
}
