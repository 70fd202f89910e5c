package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// Peer is one synthetic party in a call, or an agent console that becomes
// one when it accepts a help request. Its methods are safe for concurrent
// use.
//
// A Peer holds one WebSocket for its whole life (with Config.Reconnect,
// one after another: a dropped one is dialled again) and at most one media
// leg (a PeerConnection with its senders and receivers) at a time: a leg
// starts when the server sends `joined` (after Join, Accept or
// AutoAccept) and ends when the server sends `left`, on Drop, on Close or
// when its socket drops.
// The socket outlives its legs, so a console can help in one call after
// another.
//
// The Peer composes parts that each own their state (see the package
// doc): the fields above mu are set by newPeer and never change, sig,
// changes and tasks have locks of their own, mu guards leg, legs, network
// and back, and closeOnce guards closeErr.
type Peer struct {
	cfg Config
	log *slog.Logger
	// ctx lives until Close.
	ctx    context.Context
	cancel context.CancelFunc
	sig    *signalClient

	changes notifier
	tasks   tasks // every goroutine of the peer and its legs

	mu sync.Mutex
	// leg is the current or last media leg, nil before the first.
	leg *leg
	// legs are the legs whose sockets are still open.
	legs []*leg
	// network is the conditions of the party's network, for every leg
	// from now on (Config.Network, SetNetwork).
	network netcond.Conditions
	// back is what a new socket must send to take up where a dropped one
	// was (Config.Reconnect): the agent sign-in and the seat.
	back comeback

	closeOnce sync.Once
	closeErr  error
}

// Connect opens the WebSocket to cfg.URL and nothing else: no join, no
// media. It is how an agent console starts (then SignIn); the media of a
// leg starts by itself when the server sends `joined`. ctx bounds the
// dial only; the Peer lives until Close.
func Connect(ctx context.Context, cfg Config) (*Peer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ws, err := dial(ctx, socketURL(cfg))
	if err != nil {
		return nil, err
	}
	p := newPeer(cfg, ws)
	// Only the read loop starts legs, so Close, which waits for it before
	// closing legs, never misses one.
	p.tasks.spawn(func() { p.sig.readLoop(p.act, p.socketDropped) })
	return p, nil
}

// socketURL is cfg.URL with the call's id (?call=ID) when it joins one,
// as the page dials: any node of a cluster then passes the socket to the
// call's node.
func socketURL(cfg Config) string {
	if cfg.Call == "" {
		return cfg.URL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return cfg.URL // dial reports it
	}
	q := u.Query()
	q.Set("call", cfg.Call)
	u.RawQuery = q.Encode()
	return u.String()
}

// dial opens a signaling WebSocket.
func dial(ctx context.Context, url string) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("peer: dial %s: %w", url, err)
	}
	ws.SetReadLimit(1 << 20) // SDP can exceed the 32 KiB default
	return ws, nil
}

// Join connects to the server, joins the call and negotiates media: it is
// Connect, then a `join` message, then the media a `joined` starts. It
// returns once ICE and DTLS are connected and the senders run, or fails
// when ctx ends, the server refuses (the error is then a *ServerError) or
// the connection fails. On failure everything it started is closed. ctx
// bounds the join only; the returned Peer lives until Leave or Close.
func Join(ctx context.Context, cfg Config) (*Peer, error) {
	p, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	from := p.sig.mark()
	err = p.Send(map[string]string{
		"type": "join", "call": p.cfg.Call, "role": p.cfg.Role,
		"name": p.cfg.Name, "token": p.cfg.Token,
	})
	if err == nil {
		// Any error before `joined` is the join's refusal.
		err = p.awaitLeg(ctx, from, func(Message) bool { return true })
	}
	if err != nil {
		if cerr := p.Close(); cerr != nil {
			p.log.Debug("close after failed join", "err", cerr)
		}
		return nil, err
	}
	return p, nil
}

func newPeer(cfg Config, ws *websocket.Conn) *Peer {
	p := &Peer{cfg: cfg, log: cfg.Logger.With("role", cfg.Role, "call", cfg.Call), network: cfg.Network}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.sig = newSignalClient(p.ctx, ws, p.log, &p.changes)
	return p
}

// Send marshals msg to JSON and sends it as one text message.
func (p *Peer) Send(msg any) error {
	return p.sig.send(msg)
}

// SendRaw sends data verbatim as one text message, so tests can send
// malformed messages.
func (p *Peer) SendRaw(data []byte) error {
	return p.sig.sendRaw(data)
}

// Messages returns the server messages received so far, oldest first.
// A message is recorded once the peer has acted on it (so after `joined`
// the leg exists, after `answer` it is applied).
func (p *Peer) Messages() []Message {
	return p.sig.all()
}

// WaitFor returns the first server message, already received or still to
// come, of type typ for which match (nil: any) returns true. It fails when
// ctx ends or the socket closes first. match runs on the caller's
// goroutine, without the peer's locks held.
func (p *Peer) WaitFor(ctx context.Context, typ string, match func(Message) bool) (Message, error) {
	return p.sig.waitFor(ctx, typ, match)
}

// Leave sends {"type":"leave"} and closes the peer.
func (p *Peer) Leave() error {
	err := p.Send(map[string]string{"type": "leave"})
	return errors.Join(err, p.Close())
}

// Drop makes the current leg vanish from the network as if its link died:
// its ICE socket silently discards everything from now on (so not even
// DTLS's close_notify gets out), media stops and the PeerConnection is
// closed. The WebSocket stays open and keeps recording messages, so the
// server can only notice through ICE. The silenced socket stays open until
// Close.
func (p *Peer) Drop() {
	if l := p.currentLeg(); l != nil {
		l.drop()
	}
}

// Close hangs up without a leave message: it closes the WebSocket and
// every PeerConnection and waits for every goroutine of the peer to end.
// It is idempotent.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		p.tasks.stop()
		for _, l := range p.openLegs() {
			l.cancel() // stop the senders at once
		}
		// The read loop is still reading, so the close handshake can
		// complete.
		p.sig.close()
		p.cancel()
		// Only the read loop starts legs: once it is done the set is final.
		<-p.sig.done
		var errs []error
		for _, l := range p.openLegs() {
			if err := p.closeLeg(l); err != nil {
				errs = append(errs, err)
			}
		}
		p.tasks.wait()
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// Role is the role of the current (or last) media leg as the server's
// `joined` named it, or Config.Role before any.
func (p *Peer) Role() string {
	if l := p.currentLeg(); l != nil {
		return l.role
	}
	return p.cfg.Role
}

// SentAt returns when this peer last sent camera frame number frame in
// the current leg (taken as the frame is written to the track), if it was
// sent at all. Frames come from a loop of a few hundred (loopSeconds), so
// a number comes back once per loop; the latest sending is the one a
// receiver sees within that time.
func (p *Peer) SentAt(frame uint16) (time.Time, bool) {
	if l := p.currentLeg(); l != nil {
		return l.an.sentAt(frame)
	}
	return time.Time{}, false
}

// ReceivedAt returns when frame number frame was first read in role's tile
// (role may also be "screen") of a picture received in the current leg:
// first since the tile last showed another number, so a number that comes
// back with the sender's next loop is timed afresh. The time is when that
// picture's last RTP packet arrived, so it excludes the sample builder's
// one-frame hold-back and decoding. Latency through the server is
// ReceivedAt(role, n) minus the sending peer's SentAt(n).
func (p *Peer) ReceivedAt(role string, frame uint16) (time.Time, bool) {
	if l := p.currentLeg(); l != nil {
		return l.an.receivedAt(role, frame)
	}
	return time.Time{}, false
}
