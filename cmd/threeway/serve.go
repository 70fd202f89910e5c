package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/cluster"
	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/mixer"
	"github.com/threeway-mcu/threeway/signaling"
	"github.com/threeway-mcu/threeway/web"
)

// minSecretBytes is the shortest --secret and --api-key accepted: a
// shorter HMAC key or bearer key can be guessed offline or online.
const minSecretBytes = 32

// httpIdleTimeout closes keep-alive connections left idle this long (a
// variable for the test that waits for it).
var httpIdleTimeout = time.Minute

type serveOptions struct {
	listen        string
	canvas        string
	fps           int
	videoBitrate  string
	iceInterfaces []string
	udpPorts      string
	udpPort       int
	tcpPort       string
	publicIPs     []string
	logLevel      string
	directory     string
	apiKey        string
	secret        string
	helpTimeout   time.Duration
	rejoinGrace   time.Duration
	joinTimeout   time.Duration
	mediaTimeout  time.Duration
	tokenTTL      time.Duration
	metricsListen string
	dialAllow     string
	dialHint      string
	sendLimits    bool
	viewerCanvas  bool
	audioDTX      bool
	trimEncoders  bool
	sip           sipOptions
	drain         time.Duration
	videoMode     string
	maxCalls      int
	redisURL      string
	nodeID        string
	advertise     string
	maxSockets    int
	origins       []string
	perAddress    int
	demo          bool
}

func serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web page, /ws signaling and the calls' media",
		RunE: func(cmd *cobra.Command, _ []string) error {
			keepSysmonAwake(cmd.ErrOrStderr())
			return serve(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", envOr("THREEWAY_LISTEN", "127.0.0.1:8080"), "HTTP address for the page and /ws")
	f.StringVar(&o.metricsListen, "metrics-listen", os.Getenv("THREEWAY_METRICS_LISTEN"), "internal HTTP address for /metrics (and /healthz, /readyz), e.g. 127.0.0.1:9090; unset: /metrics is on --listen")
	f.StringVar(&o.canvas, "canvas", envOr("THREEWAY_CANVAS", "1280x720"), "size of every composed picture")
	f.IntVar(&o.fps, "fps", 15, "frames per second of every composed picture")
	f.StringVar(&o.videoBitrate, "video-bitrate", envOr("THREEWAY_VIDEO_BITRATE", "1200k"), "bitrate of each composed picture")
	f.StringSliceVar(&o.iceInterfaces, "ice-interfaces", nil, "network interfaces for media, e.g. lo (default: all)")
	f.IntVar(&o.udpPort, "udp-port", envInt("THREEWAY_UDP_PORT", 3478), "the one UDP port all media shares (0: a free port)")
	f.StringVar(&o.udpPorts, "udp-ports", os.Getenv("THREEWAY_UDP_PORTS"), "a UDP port range, e.g. 40000-40999: a port per connection instead of --udp-port")
	f.StringVar(&o.tcpPort, "tcp-port", envOr("THREEWAY_TCP_PORT", "3478"), "the ICE-TCP port, for parties whose UDP is blocked (0: a free port, off: none)")
	f.StringSliceVar(&o.publicIPs, "public-ip", envList("THREEWAY_PUBLIC_IP"), "public address of a 1:1 NAT in front of the server, put in its candidates (PUBLIC or PUBLIC/PRIVATE)")
	f.StringVar(&o.logLevel, "log-level", envOr("THREEWAY_LOG_LEVEL", "info"), "debug, info, warn or error")
	f.StringVar(&o.directory, "directory", os.Getenv("THREEWAY_DIRECTORY"), "YAML file of agents and skill queues (default: the embedded demo directory)")
	f.StringVar(&o.apiKey, "api-key", os.Getenv("THREEWAY_API_KEY"), "bearer key of the /api routes (generated with --demo)")
	f.StringVar(&o.secret, "secret", os.Getenv("THREEWAY_SECRET"), "secret that signs call and agent tokens (generated with --demo)")
	f.StringVar(&o.dialAllow, "dial-allow", envOr("THREEWAY_DIAL_ALLOW", call.DefaultDialAllow), "regular expression a whole external number must match, once normalized (+ and digits), to be dialled")
	f.StringVar(&o.dialHint, "dial-hint", os.Getenv("THREEWAY_DIAL_HINT"), "--dial-allow in words, shown by the number field of the agent's three-party form (default: the default plan's, or the expression)")
	o.sip.flags(f)
	f.BoolVar(&o.viewerCanvas, "viewer-canvas", true, "compose each viewer's picture at the smallest of half, three quarters or the whole --canvas that covers the size it shows it at (view.size)")
	f.BoolVar(&o.trimEncoders, "trim-encoders", true, "give back, as each VP8 encoder opens, the pages of its worst-case token buffer (22 MB at 1280x720) that libvpx zero-fills but a frame seldom reaches; false keeps them (for comparisons)")
	f.BoolVar(&o.audioDTX, "audio-dtx", true, "ask parties for Opus DTX, leave silent voices undecoded (DTX frames, or an audio level that says silence) and send silent mixes as DTX")
	f.BoolVar(&o.sendLimits, "send-limits", true, "tell each party's camera the largest tile it is shown in (send.limits), so that it sends no more than that")
	f.DurationVar(&o.helpTimeout, "help-timeout", call.DefaultHelpTimeout, "how long an agent asked for help has to answer")
	f.DurationVar(&o.drain, "drain", signaling.DefaultDrain, "on SIGTERM or SIGINT, how long running calls go on (told server_shutdown) before they end")
	f.DurationVar(&o.joinTimeout, "join-timeout", call.DefaultJoinTimeout, "how long a created call waits for its first party before it ends")
	f.DurationVar(&o.mediaTimeout, "media-timeout", signaling.DefaultMediaTimeout, "how long a party that joined has to connect its media before it leaves with no_media")
	f.DurationVar(&o.tokenTTL, "token-ttl", signaling.DefaultTokenTTL, "how long the call and console links the server issues admit their bearer")
	f.DurationVar(&o.rejoinGrace, "rejoin-grace", call.DefaultRejoinGrace, "how long a party whose page reloaded or whose connection dropped keeps its seat")
	f.StringVar(&o.videoMode, "video-mode", envOr("THREEWAY_VIDEO_MODE", string(call.MCU)), "mcu (compose and mix; three-party calls) or sfu (forward two-party calls untranscoded)")
	f.IntVar(&o.maxCalls, "max-calls", 0, "refuse calls beyond this many with server_full (0: no limit); in a cluster, the node's capacity")
	f.StringVar(&o.redisURL, "redis", os.Getenv("THREEWAY_REDIS"), "make this server a node of a cluster that shares its state in this Redis, e.g. redis://10.0.0.9:6379/0 (empty: a single node)")
	f.StringVar(&o.nodeID, "node-id", envOr("THREEWAY_NODE_ID", defaultNodeID()), "this node's name in the cluster, in GET /api/calls and /metrics")
	f.StringVar(&o.advertise, "advertise-url", os.Getenv("THREEWAY_ADVERTISE_URL"), "where the other nodes reach this node's /api and /ws, e.g. http://10.0.0.5:8080 (default: http:// and the --listen address)")
	f.IntVar(&o.maxSockets, "max-sockets", 0, "refuse WebSockets beyond this many with 503 (0: half the open file limit less a reserve)")
	f.IntVar(&o.perAddress, "max-sockets-per-address", 200, "refuse WebSockets from one client address beyond this many (0: no limit; agents behind one NAT share one)")
	f.StringSliceVar(&o.origins, "allowed-origins", envList("THREEWAY_ALLOWED_ORIGINS"), "hosts of pages served elsewhere that may open /ws, e.g. app.example.com or *.example.com (default: only the server's own)")
	f.BoolVar(&o.demo, "demo", false, "generate secret and API key if unset, open a demo call and print its links and the agents' console links")
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envInt reads a number from the environment; a malformed one is left
// to the flag's check by making it out of range.
func envInt(key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// envList reads a comma-separated list from the environment.
func envList(key string) []string {
	if v := os.Getenv(key); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// serve runs the server until ctx ends or a signal comes, printing its
// address (or, with --demo, the demo's links) to out.
func serve(ctx context.Context, o serveOptions, out io.Writer) error {
	params, err := o.serverParams()
	if err != nil {
		return err
	}
	log := params.Logger
	codec.TuneMalloc()
	codec.TrimEncoders(o.trimEncoders)
	spareP(params.Media.CPU)
	dialer, err := o.sip.dialer(log, params.Metrics)
	if err != nil {
		return err
	}
	if dialer != nil {
		params.Calls.Dialer = dialer
	}
	sig, err := signaling.NewServer(params)
	if err != nil {
		if dialer != nil {
			dialer.Close()
		}
		return err
	}
	if dialer != nil {
		dialer.Start(sig.Center(), sig)
		defer dialer.Close() // after the drain: the calls' end hung the phones up
		log.Info("dialling out", "sip_gateway", o.sip.gateway, "sip_addr", dialer.Addr())
	}

	servers, err := o.listenHTTP(sig)
	if err != nil {
		return errors.Join(err, sig.Close(context.Background()))
	}
	public := servers[0]
	base := baseURL(public.addr())
	var cl *cluster.Cluster
	if o.redisURL != "" {
		if cl, err = o.joinCluster(ctx, sig, base, log); err != nil {
			return errors.Join(err, sig.Close(context.Background()), closeAll(servers))
		}
		defer cl.Close() // after the drain: the node is gone once its calls are
	}
	if o.demo {
		if err := printDemo(out, sig, params, base); err != nil {
			return errors.Join(err, sig.Close(context.Background()), closeAll(servers))
		}
	} else {
		fmt.Fprintf(out, "threeway is up at %s (signaling at /ws, API at /api)\n", base)
	}
	udp, tcp := sig.MediaAddrs()
	log.Info("serving", "addr", public.addr(), "metrics_addr", o.metricsListen, "canvas", o.canvas, "fps", o.fps, "video_mode", o.videoMode,
		"media_udp", udp, "media_tcp", tcp, "max_sockets", params.Sockets.Max, "video_cpu_slots", params.Media.CPU.N(), "gomaxprocs", runtime.GOMAXPROCS(0),
		"godebug", os.Getenv("GODEBUG"))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(servers))
	for _, h := range servers {
		go func() { errc <- h.srv.Serve(h.ln) }()
	}
	select {
	case err := <-errc:
		return errors.Join(err, sig.Close(context.Background()))
	case <-ctx.Done():
	}
	// Calls go on for the drain, told the time left; then they end. The
	// cluster places no new call here meanwhile.
	log.Info("shutting down", "drain", o.drain, "calls", sig.CallCount())
	if cl != nil {
		cl.SetDraining(true)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.drain+10*time.Second)
	defer cancel()
	sigErr := sig.Drain(shutdownCtx, o.drain)
	for _, h := range servers {
		if err := h.srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return sigErr
}

// joinCluster makes sig a node of the cluster in --redis, reachable at
// --advertise-url or base.
func (o serveOptions) joinCluster(ctx context.Context, sig *signaling.Server, base string, log *slog.Logger) (*cluster.Cluster, error) {
	advertise := o.advertise
	if advertise == "" {
		advertise = base
	}
	cl, err := cluster.Open(ctx, cluster.Options{RedisURL: o.redisURL, NodeID: o.nodeID, URL: advertise,
		MaxCalls: o.maxCalls, Directory: sig.Center().Directory().Digest(), Logger: log, Load: func() cluster.Load {
			return cluster.Load{Calls: sig.CallCount(), Cores: float64(runtime.GOMAXPROCS(0)), CPUSeconds: processCPU().Seconds()}
		}})
	if err != nil {
		return nil, fmt.Errorf("--redis %s: %w", o.redisURL, err)
	}
	sig.SetCluster(cl)
	log.Info("cluster node", "node", o.nodeID, "url", advertise)
	return cl, nil
}

// defaultNodeID is the host's name, or "threeway".
func defaultNodeID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "threeway"
}

// httpServer is an HTTP server and the socket it listens on.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// newHTTPServer listens on addr (named by flag in errors) for mux. An
// idle keep-alive connection holds a descriptor: it is closed.
func newHTTPServer(addr, flag string, mux http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: httpIdleTimeout}
	return &httpServer{srv: srv, ln: ln}, nil
}

// addr is where h listens.
func (h *httpServer) addr() string { return h.ln.Addr().String() }

// closeAll closes the servers' sockets before they serve.
func closeAll(servers []*httpServer) error {
	var errs []error
	for _, h := range servers {
		errs = append(errs, h.ln.Close())
	}
	return errors.Join(errs...)
}

// listenHTTP opens the public server (the page, /ws, /api, health), first,
// and with --metrics-listen an internal one for /metrics and health;
// without it /metrics is on the public server.
func (o serveOptions) listenHTTP(sig *signaling.Server) ([]*httpServer, error) {
	mux := http.NewServeMux()
	sig.ClientRoutes(mux)
	sig.HealthRoutes(mux)
	mux.Handle("/", web.Handler())
	public, err := newHTTPServer(o.listen, "--listen", mux)
	if err != nil {
		return nil, err
	}
	if o.metricsListen == "" {
		sig.MetricsRoutes(mux)
		return []*httpServer{public}, nil
	}
	internal := http.NewServeMux()
	sig.HealthRoutes(internal)
	sig.MetricsRoutes(internal)
	metrics, err := newHTTPServer(o.metricsListen, "--metrics-listen", internal)
	if err != nil {
		return nil, errors.Join(err, closeAll([]*httpServer{public}))
	}
	return []*httpServer{public, metrics}, nil
}

func (o serveOptions) serverParams() (signaling.ServerParams, error) {
	var p signaling.ServerParams
	w, h, err := parseSize(o.canvas)
	if err != nil {
		return p, fmt.Errorf("--canvas: %w", err)
	}
	kbps, err := parseBitrate(o.videoBitrate)
	if err != nil {
		return p, fmt.Errorf("--video-bitrate: %w", err)
	}
	if o.fps < 1 || o.fps > 60 {
		return p, fmt.Errorf("--fps %d: want 1 to 60", o.fps)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return p, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	p.Logger = log
	p.Media = mixer.Params{Width: w, Height: h, FPS: o.fps, VideoBitrateKbps: kbps, Logger: log, CPU: videoSlots()}
	if p.ICE, err = o.iceParams(); err != nil {
		return p, err
	}
	if p.Calls, err = o.callParams(); err != nil {
		return p, err
	}
	if o.demo {
		o.secret = orRandom(o.secret)
		o.apiKey = orRandom(o.apiKey)
	}
	if o.secret == "" {
		return p, fmt.Errorf("--secret (or THREEWAY_SECRET) is required to sign tokens; --demo generates one")
	}
	if len(o.secret) < minSecretBytes {
		return p, fmt.Errorf("--secret is %d bytes: want at least %d, as from `openssl rand -base64 32`", len(o.secret), minSecretBytes)
	}
	if o.apiKey != "" && len(o.apiKey) < minSecretBytes {
		return p, fmt.Errorf("--api-key is %d bytes: want at least %d, as from `openssl rand -base64 32`", len(o.apiKey), minSecretBytes)
	}
	p.Secret, p.APIKey = []byte(o.secret), o.apiKey
	if p.Sockets.Max, err = socketLimit(o.maxSockets); err != nil {
		return p, err
	}
	if o.drain < 0 {
		return p, fmt.Errorf("--drain %v: want 0 or more", o.drain)
	}
	if o.mediaTimeout < time.Second {
		return p, fmt.Errorf("--media-timeout %v: want at least 1s", o.mediaTimeout)
	}
	p.MediaTimeout = o.mediaTimeout
	if o.tokenTTL < time.Minute {
		return p, fmt.Errorf("--token-ttl %v: want at least 1m", o.tokenTTL)
	}
	p.TokenTTL = o.tokenTTL
	if o.perAddress < 0 {
		return p, fmt.Errorf("--max-sockets-per-address %d: want 0 (no limit) or more", o.perAddress)
	}
	p.Sockets.PerAddress = o.perAddress
	p.AllowedOrigins = o.origins
	p.NoSendLimits = !o.sendLimits
	p.NoViewerCanvas = !o.viewerCanvas
	p.NoAudioDTX = !o.audioDTX
	p.NodeID = o.nodeID
	p.Metrics = metrics.New()
	if o.redisURL != "" {
		p.Metrics = metrics.NewNode(o.nodeID)
	}
	return p, nil
}

// iceParams reads the media ports and addresses. A port range
// (--udp-ports) takes precedence over the shared UDP port.
func (o serveOptions) iceParams() (signaling.ICEParams, error) {
	p := signaling.ICEParams{Interfaces: o.iceInterfaces, UDPPort: o.udpPort}
	var err error
	if p.PortMin, p.PortMax, err = parsePortRange(o.udpPorts); err != nil {
		return p, fmt.Errorf("--udp-ports: %w", err)
	}
	if o.udpPort < 0 || o.udpPort > 65535 {
		return p, fmt.Errorf("--udp-port %d: want 0 (a free port) to 65535", o.udpPort)
	}
	if p.TCPPort, err = parseTCPPort(o.tcpPort); err != nil {
		return p, fmt.Errorf("--tcp-port: %w", err)
	}
	if p.PublicIPs, err = parsePublicIPs(o.publicIPs); err != nil {
		return p, fmt.Errorf("--public-ip: %w", err)
	}
	return p, nil
}

func (o serveOptions) callParams() (call.Params, error) {
	var p call.Params
	mode, ok := call.ParseVideoMode(o.videoMode)
	if !ok {
		return p, fmt.Errorf("--video-mode %q: want mcu or sfu", o.videoMode)
	}
	if o.helpTimeout < time.Second {
		return p, fmt.Errorf("--help-timeout %v: want at least 1s", o.helpTimeout)
	}
	dir := call.DefaultDirectory()
	if o.directory != "" {
		f, err := os.Open(o.directory)
		if err != nil {
			return p, fmt.Errorf("--directory: %w", err)
		}
		defer f.Close()
		if dir, err = call.LoadDirectory(f); err != nil {
			return p, fmt.Errorf("--directory %s: %w", o.directory, err)
		}
	}
	plan, err := call.NewDialPlan(o.dialAllow)
	if err != nil {
		return p, fmt.Errorf("--dial-allow: %w", err)
	}
	plan.Hint = o.dialHint
	if err := dir.CheckContacts(plan); err != nil {
		return p, fmt.Errorf("--directory against --dial-allow: %w", err)
	}
	if o.maxCalls < 0 {
		return p, fmt.Errorf("--max-calls %d: want 0 (no limit) or more", o.maxCalls)
	}
	if o.joinTimeout < time.Second {
		return p, fmt.Errorf("--join-timeout %v: want at least 1s", o.joinTimeout)
	}
	if o.rejoinGrace < time.Second {
		return p, fmt.Errorf("--rejoin-grace %v: want at least 1s", o.rejoinGrace)
	}
	return call.Params{Directory: dir, VideoMode: mode, HelpTimeout: o.helpTimeout, MaxCalls: o.maxCalls,
		RejoinGrace: o.rejoinGrace, JoinTimeout: o.joinTimeout, DialPlan: plan}, nil
}

// orRandom returns s, or a fresh random secret if s is empty.
func orRandom(s string) string {
	if s != "" {
		return s
	}
	b := make([]byte, minSecretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "::" || host == "0.0.0.0" || host == "" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printThirdParty tells how the demo call's third party arrives: not by
// a link, through help, from a console like the one it prints, ready.
func printThirdParty(w io.Writer, sig *signaling.Server, agents []call.Agent, base string) error {
	fmt.Fprintf(w, "The third party has no link: it arrives through help.\n")
	if len(agents) > 1 {
		link, err := sig.AgentConsole(agents[1].ID, base)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s's console, ready to be asked (open it in its own tab):\n    %s\n", agents[1].Name, link.URL)
	}
	fmt.Fprintf(w, "Then press Three-Party… in %s's tab, ask a queue or an agent by name, and accept\n", agents[0].ID)
	fmt.Fprintf(w, "in the console that is offered the request: that agent joins the call.\n\n")
	return nil
}

// printDemo opens a call between a demo customer and the first agent and
// prints everything needed to try every flow.
func printDemo(w io.Writer, sig *signaling.Server, p signaling.ServerParams, base string) error {
	agents := p.Calls.Directory.Agents
	if len(agents) == 0 {
		return fmt.Errorf("--demo needs at least one agent in the directory")
	}
	c, err := sig.CreateCall("Demo Customer", agents[0].ID, base)
	if err != nil {
		return fmt.Errorf("demo call: %w", err)
	}
	fmt.Fprintf(w, "threeway is up at %s\n\n", base)
	fmt.Fprintf(w, "Demo call %s (open each link in its own tab):\n", c.Call)
	fmt.Fprintf(w, "  customer     %s\n", c.Customer.URL)
	fmt.Fprintf(w, "  agent %-6s %s   (also %s's console)\n\n", agents[0].ID, c.Agent.URL, agents[0].ID)
	if err := printThirdParty(w, sig, agents, base); err != nil {
		return err
	}
	fmt.Fprintf(w, "Agent consoles (sign in, then accept help requests):\n")
	for _, a := range agents {
		link, err := sig.AgentConsole(a.ID, base)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-12s %s\n", a.ID, link.URL)
	}
	fmt.Fprintf(w, "\nAPI key: %s\nToken secret: %s\n", p.APIKey, p.Secret)
	fmt.Fprintf(w, "New call: curl -H 'Authorization: Bearer %s' -d '{\"customer\":\"Ann\",\"agent\":\"%s\"}' %s/api/calls\n",
		p.APIKey, agents[0].ID, base)
	return nil
}
