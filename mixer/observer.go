package mixer

import "time"

// Observer is told about media work as it happens, for metrics. Its
// methods run on media goroutines: they must be cheap and never block.
type Observer interface {
	// FrameDecoded follows every decoded source frame.
	FrameDecoded(took time.Duration)
	// DecodeFailed follows a source frame that could not be decoded.
	DecodeFailed()
	// PictureSkipped follows a source picture replaced before the views
	// showing the source drew it: two came between two ticks.
	PictureSkipped()
	// PacketsLost counts RTP packets a source never delivered.
	PacketsLost(n int)
	// PacketDiscarded follows an inbound RTP packet dropped unread: it
	// did not parse, or held no frame.
	PacketDiscarded()
	// KeyframeRequested follows every PLI sent to a source.
	KeyframeRequested()
	// FrameComposed follows every view frame: compose and encode time,
	// its encoded size, and how many viewers it was sent to.
	FrameComposed(compose, encode time.Duration, bytes, viewers int)
	// FramesDropped counts view frames not made in time (a late tick) or
	// not encoded.
	FramesDropped(n int)
	// ViewsChanged reports the mixer's view count.
	ViewsChanged(delta int)
	// EncodersChanged reports video encoders started (delta > 0) or
	// stopped, by kind: EncoderView (one per view) or EncoderPlaceholder
	// (an sfu receiver shown a camera that is off).
	EncodersChanged(kind string, delta int)
	// ViewBitrate reports a view's encoder bitrate once a second.
	ViewBitrate(kbps int)
	// ViewerBandwidth reports a viewer's estimated bandwidth each time
	// it is set (SetViewerBitrate).
	ViewerBandwidth(kbps int)
	// ViewersSplit reports viewers moved to (delta > 0) or back from a
	// view of their own for their low bandwidth.
	ViewersSplit(delta int)
	// AudioFrame follows each 20 ms of audio work done or saved, by kind
	// (AudioDecoded, AudioQuiet, AudioEncoded, AudioDTX).
	AudioFrame(kind string)
}

// Kinds of audio work, for AudioFrame.
const (
	AudioDecoded = "decoded" // a voice's frame decoded (or rebuilt, or concealed)
	AudioQuiet   = "quiet"   // a voice's packet of silence, not decoded
	AudioEncoded = "encoded" // a mix encoded
	AudioDTX     = "dtx"     // a listener's silent mix, not encoded
)

// Kinds of video encoder, for EncodersChanged.
const (
	EncoderView        = "view"
	EncoderPlaceholder = "placeholder"
)

// NopObserver ignores everything.
type NopObserver struct{}

// FrameDecoded implements Observer.
func (NopObserver) FrameDecoded(time.Duration) {}

// DecodeFailed implements Observer.
func (NopObserver) DecodeFailed() {}

// PictureSkipped implements Observer.
func (NopObserver) PictureSkipped() {}

// PacketsLost implements Observer.
func (NopObserver) PacketsLost(int) {}

// PacketDiscarded implements Observer.
func (NopObserver) PacketDiscarded() {}

// KeyframeRequested implements Observer.
func (NopObserver) KeyframeRequested() {}

// FrameComposed implements Observer.
func (NopObserver) FrameComposed(time.Duration, time.Duration, int, int) {}

// FramesDropped implements Observer.
func (NopObserver) FramesDropped(int) {}

// ViewsChanged implements Observer.
func (NopObserver) ViewsChanged(int) {}

// EncodersChanged implements Observer.
func (NopObserver) EncodersChanged(string, int) {}

// ViewBitrate implements Observer.
func (NopObserver) ViewBitrate(int) {}

// ViewerBandwidth implements Observer.
func (NopObserver) ViewerBandwidth(int) {}

// ViewersSplit implements Observer.
func (NopObserver) ViewersSplit(int) {}

// AudioFrame implements Observer.
func (NopObserver) AudioFrame(string) {}
