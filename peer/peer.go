package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
)

// Peer is one synthetic party in a call. Its methods are safe for
// concurrent use.
type Peer struct {
	cfg Config
	log *slog.Logger

	ws   *websocket.Conn
	wsMu sync.Mutex // serializes writes

	// ctx lives until Close; mediaCtx until Drop or Close and stops the
	// senders.
	ctx         context.Context
	cancel      context.CancelFunc
	mediaCtx    context.Context
	mediaCancel context.CancelFunc
	wg          sync.WaitGroup

	// joined receives the outcome of the join request (nil or
	// *ServerError), once.
	joined chan error
	// connected is closed when the PeerConnection reaches connected.
	connected     chan struct{}
	connectedOnce sync.Once
	// failed is closed, with failErr set, when the call cannot go on.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error
	// readDone is closed, with readErr set, when the WebSocket read loop
	// ends.
	readDone chan struct{}
	readErr  error

	udp *blackhole // the ICE socket, which Drop silences
	mux io.Closer  // the ICE UDP mux over udp; closing it closes udp

	videoTrack, audioTrack *webrtc.TrackLocalStaticSample

	// sig is owned by the read loop: signaling state that must follow
	// message order.
	sig struct {
		joinAnswered  bool
		remoteSet     bool
		pendingRemote []webrtc.ICECandidateInit
	}

	forceKey atomic.Bool // next sent video frame is a key frame

	mu sync.Mutex // guards everything below
	pc *webrtc.PeerConnection
	// closed stops new goroutines (OnTrack) from starting.
	closed bool
	// offerSent gates local candidates: they are queued until the offer
	// is on the wire, so the server never sees a candidate first.
	offerSent    bool
	localPending []*webrtc.ICECandidate
	messages     []Message
	stats        Stats
	lastPLI      time.Time
	sent         [historySize]stamp
	received     map[string]*[historySize]stamp
	audio        pcmRing
	toneCache    map[string]float64
	toneCacheAt  int // stats.AudioFrames when toneCache was computed

	closeOnce sync.Once
	closeErr  error
	dropOnce  sync.Once
}

// historySize is how many frame numbers SentAt and ReceivedAt remember
// (about 4.5 minutes at 15 fps).
const historySize = 4096

// stamp records when a frame number was seen.
type stamp struct {
	frame uint16
	at    time.Time
}

// Join connects to the server, joins the call and negotiates media. It
// returns once ICE and DTLS are connected, or fails when ctx ends, the
// server refuses (the error is then a *ServerError) or the connection
// fails. On failure everything it started is closed. ctx bounds the join
// only; the returned Peer lives until Leave or Close.
func Join(ctx context.Context, cfg Config) (*Peer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ws, _, err := websocket.Dial(ctx, cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("peer: dial %s: %w", cfg.URL, err)
	}
	ws.SetReadLimit(1 << 20) // SDP can exceed the 32 KiB default
	p := newPeer(cfg, ws)
	p.wg.Add(1)
	go p.readLoop()

	if err := p.join(ctx); err != nil {
		if cerr := p.Close(); cerr != nil {
			p.log.Debug("close after failed join", "err", cerr)
		}
		return nil, err
	}
	return p, nil
}

func newPeer(cfg Config, ws *websocket.Conn) *Peer {
	p := &Peer{
		cfg:       cfg,
		log:       cfg.Logger.With("role", cfg.Role, "call", cfg.Call),
		ws:        ws,
		joined:    make(chan error, 1),
		connected: make(chan struct{}),
		failed:    make(chan struct{}),
		readDone:  make(chan struct{}),
		received:  make(map[string]*[historySize]stamp),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mediaCtx, p.mediaCancel = context.WithCancel(p.ctx)
	p.stats.ConnectionState = webrtc.PeerConnectionStateNew.String()
	return p
}

// join runs the join handshake and the media negotiation.
func (p *Peer) join(ctx context.Context) error {
	err := p.Send(map[string]string{
		"type": "join", "call": p.cfg.Call, "role": p.cfg.Role,
		"name": p.cfg.Name, "token": p.cfg.Token,
	})
	if err != nil {
		return err
	}
	select {
	case err := <-p.joined:
		if err != nil {
			return err
		}
	case <-p.readDone:
		return fmt.Errorf("peer: waiting for joined: %w", p.readErr)
	case <-ctx.Done():
		return fmt.Errorf("peer: waiting for joined: %w", ctx.Err())
	}

	if err := p.startMedia(); err != nil {
		return err
	}
	select {
	case <-p.connected:
	case <-p.failed:
		return p.failErr
	case <-p.readDone:
		return fmt.Errorf("peer: negotiating media: %w", p.readErr)
	case <-ctx.Done():
		return fmt.Errorf("peer: negotiating media: %w", ctx.Err())
	}
	p.log.Debug("connected")
	return p.startSenders()
}

// fail records the first reason the call cannot go on.
func (p *Peer) fail(err error) {
	p.failOnce.Do(func() {
		p.failErr = err
		close(p.failed)
	})
}

// Leave sends {"type":"leave"} and closes the peer.
func (p *Peer) Leave() error {
	err := p.Send(map[string]string{"type": "leave"})
	return errors.Join(err, p.Close())
}

// Drop makes the peer vanish from the network as if its link died: the ICE
// socket silently discards everything from now on (so not even DTLS's
// close_notify gets out), media stops and the PeerConnection is closed.
// The WebSocket stays open and keeps recording messages, so the server can
// only notice through ICE.
func (p *Peer) Drop() {
	p.dropOnce.Do(func() {
		if p.udp != nil {
			p.udp.silence()
		}
		p.mediaCancel()
		p.mu.Lock()
		pc := p.pc
		p.mu.Unlock()
		if pc != nil {
			if err := pc.Close(); err != nil {
				p.log.Debug("drop: close peer connection", "err", err)
			}
		}
	})
}

// Close hangs up without a leave message: it closes the PeerConnection and
// the WebSocket and waits for every goroutine of the peer to end. It is
// idempotent.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		pc := p.pc
		p.mu.Unlock()
		p.mediaCancel()
		var errs []error
		if pc != nil {
			if err := pc.Close(); err != nil {
				errs = append(errs, fmt.Errorf("peer: close peer connection: %w", err))
			}
		}
		// The read loop is still reading, so the close handshake can
		// complete; a server that already went away is not an error.
		if err := p.ws.Close(websocket.StatusNormalClosure, "bye"); err != nil && !errors.Is(err, net.ErrClosed) {
			p.log.Debug("close websocket", "err", err)
		}
		p.cancel()
		if p.mux != nil {
			if err := p.mux.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("peer: close ICE socket: %w", err))
			}
		} else if p.udp != nil {
			if err := p.udp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("peer: close ICE socket: %w", err))
			}
		}
		p.wg.Wait()
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// SentAt returns when this peer captured video frame number frame (just
// before drawing and encoding it), if it is among the last few thousand
// sent.
func (p *Peer) SentAt(frame uint16) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sent[int(frame)%historySize]
	if s.at.IsZero() || s.frame != frame {
		return time.Time{}, false
	}
	return s.at, true
}

// ReceivedAt returns when frame number frame was first read in role's tile
// of a received picture, if it is among the last few thousand. The time is
// when that picture's last RTP packet arrived, so it excludes the sample
// builder's one-frame hold-back and decoding. Latency through the server
// is ReceivedAt(role, n) minus the sending peer's SentAt(n).
func (p *Peer) ReceivedAt(role string, frame uint16) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.received[role]
	if h == nil {
		return time.Time{}, false
	}
	s := h[int(frame)%historySize]
	if s.at.IsZero() || s.frame != frame {
		return time.Time{}, false
	}
	return s.at, true
}

// recordSent stores the capture time of frame.
func (p *Peer) recordSent(frame uint16, at time.Time) {
	p.mu.Lock()
	p.sent[int(frame)%historySize] = stamp{frame, at}
	p.stats.FramesSent++
	p.mu.Unlock()
}
