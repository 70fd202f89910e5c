package sip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/signaling"
)

// DefaultRTPTimeout is how long an answered phone may send no RTP before
// its leg is taken for dead and ended.
const DefaultRTPTimeout = 30 * time.Second

// Config configures a Dialer.
type Config struct {
	Gateway string // host:port of the SIP gateway, over UDP
	// Listen is the local SIP address; its host is also put in Contact
	// and the SDP. "" or an unspecified host: the address this machine
	// reaches the gateway from, and port 5060.
	Listen string
	// From is who the calls come from: a SIP URI, or a user name at the
	// local address. "": threeway.
	From           string
	User, Password string // digest credentials, for a gateway that asks
	Ports          PortRange
	RTPTimeout     time.Duration // 0: DefaultRTPTimeout
	Logger         *slog.Logger
	// Discarded, when set, counts an RTP packet a leg dropped: from a
	// stranger, malformed, or of a payload type not negotiated.
	Discarded func()
}

// Media joins an answered phone's audio to its call's mix; the
// signaling.Server is one.
type Media interface {
	ConnectPhone(callID string, role call.Role, a signaling.PhoneAudio) (disconnect func(), err error)
}

// Dialer is call.Dialer over SIP: a user agent that dials numbers through
// the gateway and carries each answered phone's RTP into its call's mix.
type Dialer struct {
	cfg     Config
	log     *slog.Logger
	conn    net.PacketConn
	local   *net.UDPAddr // the SIP socket, as put in Contact
	from    sipmsg.Uri
	gateway sipmsg.Uri
	ua      *sipgo.UserAgent
	server  *sipgo.Server
	dialogs *sipgo.DialogClientCache
	serving chan struct{} // closed when the SIP socket's reader ends

	center *call.Center
	media  Media

	mu     sync.Mutex
	dials  map[string]*dial // by help request id
	closed bool
	wg     sync.WaitGroup
}

// New opens the SIP socket and starts answering on it. The Dialer places
// no call until Start.
func New(cfg Config) (*Dialer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RTPTimeout <= 0 {
		cfg.RTPTimeout = DefaultRTPTimeout
	}
	if cfg.Ports == (PortRange{}) {
		cfg.Ports = DefaultPorts
	}
	if cfg.Discarded == nil {
		cfg.Discarded = func() {}
	}
	if err := cfg.Ports.check(); err != nil {
		return nil, err
	}
	gw, err := net.ResolveUDPAddr("udp4", cfg.Gateway)
	if err != nil || gw.Port == 0 {
		return nil, fmt.Errorf("sip gateway %q: want host:port (%v)", cfg.Gateway, err)
	}
	local, err := localAddr(cfg.Listen, gw)
	if err != nil {
		return nil, err
	}
	d := &Dialer{cfg: cfg, log: cfg.Logger.With("component", "sip"), dials: map[string]*dial{},
		gateway: sipmsg.Uri{Scheme: "sip", Host: gw.IP.String(), Port: gw.Port}}
	if d.from, err = fromURI(cfg.From, local); err != nil {
		return nil, err
	}
	if err := d.listen(local); err != nil {
		return nil, err
	}
	return d, nil
}

func (p PortRange) check() error {
	if p.Min < 1024 || p.Max > 65535 || p.Max-p.Min < 1 {
		return fmt.Errorf("rtp ports %d-%d: want a range of at least two ports within 1024-65535", p.Min, p.Max)
	}
	return nil
}

// localAddr is the address to listen on: listen's, with the host that
// reaches gw when listen leaves it open (no packet is sent to find it).
func localAddr(listen string, gw *net.UDPAddr) (*net.UDPAddr, error) {
	if listen == "" {
		listen = ":5060"
	}
	addr, err := net.ResolveUDPAddr("udp4", listen)
	if err != nil {
		return nil, fmt.Errorf("sip listen %q: %w", listen, err)
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		probe, err := net.DialUDP("udp4", nil, gw)
		if err != nil {
			return nil, fmt.Errorf("sip: no route to the gateway %s: %w", gw, err)
		}
		addr.IP = probe.LocalAddr().(*net.UDPAddr).IP
		probe.Close()
	}
	return addr, nil
}

// fromURI is the From of the calls: from if it is a SIP URI, else a user
// name (default threeway) at the local address.
func fromURI(from string, local *net.UDPAddr) (sipmsg.Uri, error) {
	var u sipmsg.Uri
	if strings.HasPrefix(from, "sip:") {
		if err := sipmsg.ParseUri(from, &u); err != nil || u.Host == "" {
			return u, fmt.Errorf("sip from %q: want sip:user@host (%v)", from, err)
		}
		return u, nil
	}
	if from == "" {
		from = "threeway"
	}
	return sipmsg.Uri{Scheme: "sip", User: from, Host: local.IP.String()}, nil
}

// listen opens the one UDP socket the user agent sends and hears on.
func (d *Dialer) listen(local *net.UDPAddr) error {
	conn, err := net.ListenUDP("udp4", local)
	if err != nil {
		return fmt.Errorf("sip listen %s: %w", local, err)
	}
	d.conn, d.local = conn, conn.LocalAddr().(*net.UDPAddr)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("threeway"), sipgo.WithUserAgentHostname(d.local.IP.String()))
	if err != nil {
		conn.Close()
		return err
	}
	// Every request leaves from the listening socket, so that responses
	// and the phone's BYE come back to one port.
	client, err := sipgo.NewClient(ua, sipgo.WithClientAddr(d.local.String()), sipgo.WithClientConnectionAddr(d.local.String()))
	if err != nil {
		ua.Close()
		return err
	}
	d.ua = ua
	d.server, err = sipgo.NewServer(ua)
	if err != nil {
		ua.Close()
		return err
	}
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: d.from.User,
		Host: d.local.IP.String(), Port: d.local.Port}}
	d.dialogs = sipgo.NewDialogClientCache(client, contact)
	d.server.OnBye(d.onBye)
	d.server.OnInvite(d.onInvite)
	d.server.OnUpdate(d.onUpdate)
	d.server.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	})
	d.serving = make(chan struct{})
	go func() {
		defer close(d.serving)
		_ = d.server.ServeUDP(conn)
	}()
	return nil
}

// Addr is the SIP socket's address.
func (d *Dialer) Addr() *net.UDPAddr { return d.local }

// Start has the Dialer report to center and join answered phones to
// media's calls; it dials nothing before.
func (d *Dialer) Start(center *call.Center, media Media) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.center, d.media = center, media
}

// Dial starts calling number for help request dialID of call callID. It
// only starts the work: the center's lock is held.
func (d *Dialer) Dial(callID, dialID, number string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return errors.New("sip: dialer closed")
	case d.center == nil:
		return errors.New("sip: dialer not started")
	case d.dials[dialID] != nil:
		return fmt.Errorf("sip: dial %s already placed", dialID)
	}
	dl := newDial(callID, dialID, number)
	d.dials[dialID] = dl
	d.wg.Add(1)
	go d.run(dl)
	return nil
}

// Hangup ends dialID: CANCEL while it rings, BYE once answered. It only
// starts the work: the center's lock is held.
func (d *Dialer) Hangup(dialID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dl := d.dials[dialID]; dl != nil {
		dl.hangUp()
	}
}

// Legs counts the dials under way, ringing or answered.
func (d *Dialer) Legs() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.dials)
}

// Close hangs every dial up, waits for them to end, and closes the
// socket.
func (d *Dialer) Close() error {
	d.mu.Lock()
	d.closed = true
	for _, dl := range d.dials {
		dl.hangUp()
	}
	d.mu.Unlock()
	d.wg.Wait()
	err := errors.Join(d.ua.Close(), d.conn.Close())
	<-d.serving
	return err
}

func (d *Dialer) forget(dl *dial) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dials, dl.id)
	d.wg.Done()
}

// onBye ends the dial whose dialog the phone hung up.
func (d *Dialer) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if err := d.dialogs.ReadBye(req, tx); err != nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
	}
}

// onInvite answers a re-INVITE in one of our dialogs (a session refresh
// by the gateway) with the leg's SDP, unchanged; it refuses calls in: the
// server only dials out.
func (d *Dialer) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	sess, err := d.dialogs.MatchRequestDialog(req)
	if err != nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Dial-out only", nil))
		return
	}
	body := d.refreshedBy(sess)
	if body == nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", body)
	res.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	_ = tx.Respond(res)
}

// onUpdate answers an UPDATE in one of our dialogs, a session refresh
// without SDP.
func (d *Dialer) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	sess, err := d.dialogs.MatchRequestDialog(req)
	if err != nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	if d.refreshedBy(sess) == nil {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
}
