package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/threeway-mcu/threeway/mixer"
	"github.com/threeway-mcu/threeway/signaling"
	"github.com/threeway-mcu/threeway/web"
)

type serveOptions struct {
	listen        string
	canvas        string
	fps           int
	videoBitrate  string
	iceInterfaces []string
	udpPorts      string
	logLevel      string
}

func serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web page, /ws signaling and the calls' media",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", envOr("THREEWAY_LISTEN", "127.0.0.1:8080"), "HTTP address for the page and /ws")
	f.StringVar(&o.canvas, "canvas", envOr("THREEWAY_CANVAS", "1280x720"), "size of every composed picture")
	f.IntVar(&o.fps, "fps", 15, "frames per second of every composed picture")
	f.StringVar(&o.videoBitrate, "video-bitrate", envOr("THREEWAY_VIDEO_BITRATE", "1200k"), "bitrate of each composed picture")
	f.StringSliceVar(&o.iceInterfaces, "ice-interfaces", nil, "network interfaces for media, e.g. lo (default: all)")
	f.StringVar(&o.udpPorts, "udp-ports", envOr("THREEWAY_UDP_PORTS", "40000-40999"), "UDP port range for media")
	f.StringVar(&o.logLevel, "log-level", envOr("THREEWAY_LOG_LEVEL", "info"), "debug, info, warn or error")
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func serve(ctx context.Context, o serveOptions) error {
	params, err := o.serverParams()
	if err != nil {
		return err
	}
	log := params.Logger
	sig := signaling.NewServer(params)

	mux := http.NewServeMux()
	mux.Handle("/ws", sig)
	mux.Handle("/", web.Handler())
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	printLinks(ln.Addr().String())
	log.Info("serving", "addr", ln.Addr().String(), "canvas", o.canvas, "fps", o.fps)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sigErr := sig.Close(shutdownCtx)
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return sigErr
}

func (o serveOptions) serverParams() (signaling.ServerParams, error) {
	var p signaling.ServerParams
	w, h, err := parseSize(o.canvas)
	if err != nil {
		return p, err
	}
	kbps, err := parseBitrate(o.videoBitrate)
	if err != nil {
		return p, err
	}
	if o.fps < 1 || o.fps > 60 {
		return p, fmt.Errorf("fps %d: want 1 to 60", o.fps)
	}
	lo, hi, err := parsePortRange(o.udpPorts)
	if err != nil {
		return p, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return p, fmt.Errorf("log level %q: %w", o.logLevel, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	p.Logger = log
	p.Media = mixer.Params{Width: w, Height: h, FPS: o.fps, VideoBitrateKbps: kbps, Logger: log}
	p.ICE = signaling.ICEParams{Interfaces: o.iceInterfaces, PortMin: lo, PortMax: hi}
	return p, nil
}

func printLinks(addr string) {
	base := "http://" + addr
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") {
		base = "http://127.0.0.1" + addr[strings.LastIndex(addr, ":"):]
	}
	fmt.Printf("threeway is up. Open one link per party (each in its own tab or browser):\n")
	for _, role := range signaling.Roles {
		fmt.Printf("  %-8s %s/?call=demo&role=%s\n", role, base, role)
	}
}
