package mixer

import "github.com/pion/rtp/codecs"

// vp8KeyframeSize reads a VP8 frame's tag (RFC 6386, 9.1): bit 0 of the
// first byte is 0 for a key frame, which then carries the start code
// 9d 01 2a and the picture's 14-bit width and height.
func vp8KeyframeSize(frame []byte) (w, h int, key bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	return int(frame[6]) | int(frame[7]&0x3f)<<8, int(frame[8]) | int(frame[9]&0x3f)<<8, true
}

// vp8KeyframeStart reports whether an RTP payload of VP8 (RFC 7741) starts
// a key frame, and if so the frame's size.
func vp8KeyframeStart(payload []byte) (w, h int, key bool) {
	var d codecs.VP8Packet
	frame, err := d.Unmarshal(payload)
	if err != nil || d.S != 1 || d.PID != 0 {
		return 0, 0, false
	}
	return vp8KeyframeSize(frame)
}
