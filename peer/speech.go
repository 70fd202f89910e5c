package peer

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// speechWAV is a sentence spoken by espeak-ng (`espeak-ng -v en-us -s 165
// -w speech.wav "Thanks for holding. Your refund went out on Monday, so
// it should arrive soon."`): 5.2 s of mono 16-bit PCM at 22050 Hz.
//
//go:embed testdata/speech.wav
var speechWAV []byte

// The speech schedule: the parties take turns of speechTurn, in Roles'
// order, by the wall clock, so that peers in any process speak one at a
// time, as people in a call do. Each turn is the sentence and a pause.
const (
	speechTurn   = 6 * time.Second
	speechFrames = int(3 * speechTurn / audioFrame) // the loop: three turns
	turnFrames   = int(speechTurn / audioFrame)
	// voiceLevel is the loudest audio level (RFC 6464, -dBov) a frame
	// without voice has: quieter frames are flagged as no voice.
	voiceLevel = 45
)

// AudioSpeech and AudioTone are the sources Config.Audio names.
const (
	AudioTone   = "tone"
	AudioSpeech = "speech"
)

// speechLength is how long the sentence is, each turn's speaking part.
var speechLength time.Duration

// SpeechAt tells which role's turn it is at t and whether its sentence is
// being spoken then (not the pause after it). Listeners may check the
// mix against it: during a turn's speech the others hear it, the speaker
// hears nothing.
func SpeechAt(t time.Time) (role string, speaking bool) {
	frame := int(t.UnixMilli()/audioFrame.Milliseconds()) % speechFrames
	turn, into := frame/turnFrames, time.Duration(frame%turnFrames)*audioFrame
	return Roles()[turn], into < speechLength
}

// encodeSpeechLoop is the three turns encoded, with DTX as a browser
// sends them if dtx, for the role whose turn is first; packets are nil
// where DTX sends nothing. levels are each frame's RFC 6464 byte.
func encodeSpeechLoop(dtx bool) (*audioLoop, error) {
	pcm, err := speechPCM()
	if err != nil {
		return nil, err
	}
	enc, err := newMicEncoder(dtx)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	loop := &audioLoop{packets: make([][]byte, speechFrames), levels: make([]byte, speechFrames)}
	frame := make([]int16, codec.FrameSamples)
	buf := make([]byte, 0, maxOpusPacket)
	for pass := range 2 { // the first pass leaves the encoder where the loop's end does
		for i := range speechFrames {
			clear(frame)
			if at := i * codec.FrameSamples; at < len(pcm) {
				copy(frame, pcm[at:])
			}
			pkt, err := enc.Encode(frame, buf)
			if err != nil {
				return nil, fmt.Errorf("peer: encode speech: %w", err)
			}
			if pass == 1 {
				loop.levels[i] = audioLevel(frame)
				if !dtx || len(pkt) > 2 { // a DTX frame is not sent
					loop.packets[i] = bytes.Clone(pkt)
				}
			}
		}
	}
	return loop, nil
}

// speechPCM is the sentence at 48 kHz.
func speechPCM() ([]int16, error) {
	pcm, rate, err := readWAV(speechWAV)
	if err != nil {
		return nil, fmt.Errorf("peer: speech clip: %w", err)
	}
	out, err := codec.Resample(pcm, rate, codec.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("peer: speech clip: %w", err)
	}
	if len(out) > turnFrames*codec.FrameSamples {
		return nil, fmt.Errorf("peer: speech clip lasts more than a turn (%v)", speechTurn)
	}
	return out, nil
}

func init() {
	pcm, rate, err := readWAV(speechWAV)
	if err != nil {
		panic(err) // the embedded clip is part of the build
	}
	speechLength = time.Duration(len(pcm)) * time.Second / time.Duration(rate)
}

// readWAV reads a mono 16-bit PCM WAV file's samples and rate.
func readWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	var rate int
	for b = b[12:]; len(b) >= 8; {
		id, size := string(b[:4]), int(binary.LittleEndian.Uint32(b[4:8]))
		b = b[8:]
		if size > len(b) {
			size = len(b) // espeak-ng leaves the data chunk's size unset when writing to a pipe
		}
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(b) != 1 || binary.LittleEndian.Uint16(b[2:]) != 1 ||
				binary.LittleEndian.Uint16(b[14:]) != 16 {
				return nil, 0, errors.New("WAV is not mono 16-bit PCM")
			}
			rate = int(binary.LittleEndian.Uint32(b[4:]))
		case "data":
			if rate == 0 {
				return nil, 0, errors.New("WAV data before its format")
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return pcm, rate, nil
		}
		b = b[min(len(b), size+size%2):]
	}
	return nil, 0, errors.New("WAV has no data")
}

// audioLevel is frame's RFC 6464 header extension byte: its level in -dBov
// (0 loudest, 127 silence) and the voice flag for levels above voiceLevel.
func audioLevel(frame []int16) byte {
	level := byte(127)
	if dbfs := levelDBFS(frame); dbfs > silentDBFS {
		level = byte(min(127, max(0, math.Round(-dbfs))))
	}
	if level <= voiceLevel {
		return 0x80 | level
	}
	return level
}

// speechOffset is where role's loop position is: the loop starts with
// the first role's turn.
func speechOffset(role string) int {
	return max(0, slices.Index(Roles(), role)) * turnFrames
}

// SpeechFrame is one 20 ms frame of the speech schedule as a peer sends
// it: its Opus packet (nil: DTX sent nothing) and its RFC 6464 level byte.
type SpeechFrame struct {
	Packet []byte
	Level  byte
}

// SpeechLoop is the whole schedule (three turns, 18 s) as role sends it,
// with DTX or without, from the first role's turn on, for benchmarks that
// replay it.
func SpeechLoop(role string, dtx bool) ([]SpeechFrame, error) {
	key := float64(speechLoopKey)
	if !dtx {
		key = speechLoopNoDTX
	}
	loop, err := loops.audioLoopFor(context.Background(), key)
	if err != nil {
		return nil, err
	}
	n := len(loop.packets)
	out := make([]SpeechFrame, n)
	for i := range out {
		j := (i - speechOffset(role) + n) % n
		out[i] = SpeechFrame{Packet: loop.packets[j], Level: loop.levels[j]}
	}
	return out, nil
}
