package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/spf13/cobra"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/layout"
	"github.com/threeway-mcu/threeway/mixer"
)

// mediabenchResult is one offline run, as JSON for scripts.
type mediabenchResult struct {
	Layout      string  `json:"layout"`
	Frames      int     `json:"frames"`       // output frames per view
	Views       int     `json:"views"`        // encodes per output frame
	CPUSeconds  float64 `json:"cpu_s"`        // this process, user+system
	LibvpxSecs  float64 `json:"libvpx_cpu_s"` // inside libvpx: creating, decoding, encoding, freeing
	EncodedKB   float64 `json:"encoded_kb"`
	OutputCRC   uint32  `json:"output_crc32"` // of every encoded frame, in order: equal runs encoded the same pictures
	WallSeconds float64 `json:"wall_s"`
}

// mediabenchCommand runs the mixer's video path on files, for comparing
// threeway with other tools doing the same work (scripts/bench-vs-peers.sh).
func mediabenchCommand() *cobra.Command {
	var (
		inputs    []string
		layoutID  string
		canvas    string
		bitrate   string
		fps       int
		canvasFPS int
	)
	cmd := &cobra.Command{
		Use:    "mediabench",
		Short:  "Decode three IVF clips, compose and encode views offline, and report CPU",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, h, err := parseSize(canvas)
			if err != nil {
				return err
			}
			kbps, err := parseBitrate(bitrate)
			if err != nil {
				return err
			}
			if canvasFPS == 0 {
				canvasFPS = fps
			}
			if canvasFPS <= 0 || fps <= 0 || fps%canvasFPS != 0 {
				return fmt.Errorf("--canvas-fps %d must divide --fps %d", canvasFPS, fps)
			}
			res, err := mediabench(inputs, layoutID, w, h, kbps, fps, canvasFPS)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&inputs, "inputs", nil, "three IVF (VP8) clips: customer, agent, third")
	f.StringVar(&layoutID, "layout", "equal", "equal (one shared canvas) or max3 (each viewer maximizes a different party: three canvases)")
	f.StringVar(&canvas, "canvas", "1280x720", "canvas size")
	f.StringVar(&bitrate, "video-bitrate", "1200k", "bitrate of each canvas")
	f.IntVar(&fps, "fps", 15, "frame rate of the clips")
	f.IntVar(&canvasFPS, "canvas-fps", 0, "frame rate of the canvases, dividing --fps: every clip frame is decoded, every (fps/canvas-fps)th composed (default: --fps)")
	return cmd
}

// benchParties are the sources of the benched call: a three-party call's
// roles, in tile order, by the names the mixer knows them by.
var benchParties = func() []string {
	names := make([]string, len(call.Roles))
	for i, r := range call.Roles {
		names[i] = string(r)
	}
	return names
}()

func mediabench(inputs []string, layoutID string, w, h, kbps, fps, canvasFPS int) (*mediabenchResult, error) {
	if len(inputs) != len(benchParties) {
		return nil, fmt.Errorf("--inputs needs %d clips", len(benchParties))
	}
	var specs []layout.Spec
	switch layoutID {
	case "equal":
		specs = []layout.Spec{{Parties: benchParties, Mode: layout.Equal}}
	case "max3":
		for _, p := range benchParties {
			specs = append(specs, layout.Spec{Parties: benchParties, Mode: layout.Maximize, Focus: p})
		}
	default:
		return nil, fmt.Errorf("layout %q: want equal or max3", layoutID)
	}
	clips := make([][][]byte, len(inputs))
	for i, path := range inputs {
		frames, err := readIVF(path)
		if err != nil {
			return nil, err
		}
		clips[i] = frames
	}
	// From the codecs' creation to their freeing, as libvpx's share is.
	start, cpu0 := time.Now(), processCPU()
	slots := videoSlots()
	off, err := mixer.NewOffline(mixer.Params{Width: w, Height: h, FPS: canvasFPS, VideoBitrateKbps: kbps, CPU: slots},
		benchParties, specs)
	if err != nil {
		return nil, err
	}
	res := &mediabenchResult{Layout: layoutID, Views: len(specs)}
	err = runPipeline(off, slots, clips, fps/canvasFPS, res)
	off.Close()
	if err != nil {
		return nil, err
	}
	res.CPUSeconds = (processCPU() - cpu0).Seconds()
	res.LibvpxSecs = off.LibvpxTime().Seconds()
	res.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// runPipeline drives off as a call drives the mixer, where each source
// decodes on its own goroutine and each view encodes on its own: one
// goroutine decodes every clip's frame n+1 while one per view encodes the
// views' frame n. Output frame n composes frame n·every of every clip
// (every > 1: senders faster than the canvas), so every run encodes the
// same pictures. The Go scheduler gets a spare P, as
// in the server (spareP), and the goroutines start each frame's work on a
// fresh time slice (freshTimeSlice), since they hand frames to each other
// as a server's goroutines do not.
func runPipeline(off *mixer.Offline, slots *mixer.CPUSlots, clips [][][]byte, every int, res *mediabenchResult) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0)) // as it was, for a next run in this process
	spareP(slots)
	n := len(clips[0])
	next := make(chan int)
	decoded := make(chan error, 1) // never blocks: one decode in flight
	go func() {
		for k := range next {
			freshTimeSlice()
			decoded <- decodeFrame(off, clips, k)
		}
	}()
	defer close(next)

	views := make([]chan struct{}, off.Views())
	encoded := make(chan struct{})
	for i := range views {
		views[i] = make(chan struct{})
		go func() {
			for range views[i] {
				freshTimeSlice()
				off.Encode(i)
				encoded <- struct{}{}
			}
		}()
		defer close(views[i])
	}

	next <- 0
	for k := range n {
		if err := <-decoded; err != nil {
			return err
		}
		if k%every != 0 {
			if k+1 < n {
				next <- k + 1
			}
			continue // a frame no canvas shows
		}
		off.Compose()
		if k+1 < n {
			next <- k + 1
		}
		for _, v := range views {
			v <- struct{}{}
		}
		for range views {
			<-encoded
		}
		for i := range views {
			out := off.Output(i)
			res.EncodedKB += float64(len(out)) / 1000
			res.OutputCRC = crc32.Update(res.OutputCRC, crc32.IEEETable, out)
		}
		res.Frames++
	}
	return nil
}

// decodeFrame decodes frame k of every clip that has one.
func decodeFrame(off *mixer.Offline, clips [][][]byte, k int) error {
	for i, party := range benchParties {
		if k < len(clips[i]) {
			if err := off.Decode(party, clips[i][k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// readIVF loads every frame of a VP8 IVF file.
func readIVF(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, hdr, err := ivfreader.NewWith(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !strings.EqualFold(hdr.FourCC, "VP80") {
		return nil, fmt.Errorf("%s: %s, not VP8", path, hdr.FourCC)
	}
	var frames [][]byte
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		frames = append(frames, frame)
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
