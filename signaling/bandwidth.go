package signaling

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/mixer"
)

// estimatePoll is how often a viewer's bandwidth estimate is handed to
// its mixer.
const estimatePoll = 250 * time.Millisecond

// bandwidthParams bound a PeerConnection's estimate of its downlink, in
// kbit/s.
type bandwidthParams struct {
	start, min, max int
}

// estimator is pion's GCC estimate of one PeerConnection's downlink.
// pion closes it with the PeerConnection, which closed then tells.
type estimator struct {
	cc.BandwidthEstimator
	once   sync.Once
	closed chan struct{}
}

// Close implements cc.BandwidthEstimator; safe to repeat.
func (e *estimator) Close() error {
	var err error
	e.once.Do(func() {
		err = e.BandwidthEstimator.Close()
		close(e.closed)
	})
	return err
}

// discard closes an estimator whose PeerConnection was never made.
func (e *estimator) discard() {
	if e != nil && e.BandwidthEstimator != nil {
		_ = e.Close()
	}
}

// viewerBandwidth bounds a viewer's estimate: it starts where the mixer
// sends a viewer its full picture and sound (GCC's own start, 10 kbit/s,
// would open every call on a smear) and may range from the least the
// mixer sends to the most.
func viewerBandwidth(media mixer.Params) *bandwidthParams {
	return &bandwidthParams{start: media.ViewerKbps(), min: media.MinViewerKbps(), max: media.ViewerKbps()}
}

// registerCongestionControl has the PeerConnection estimate its downlink
// with GCC from the receiver's TWCC feedback: every packet we send
// carries a transport-wide sequence number. It must come before the
// default interceptors, so that pion's NACK responder sees the estimate.
// The estimator exists once the PeerConnection does.
func registerCongestionControl(engine *webrtc.MediaEngine, registry *interceptor.Registry, p bandwidthParams) (*estimator, error) {
	est := &estimator{closed: make(chan struct{})}
	factory, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: the views' encoders already send at the estimate,
		// and pion's leaky bucket would add a goroutine, a copy and a
		// queue per PeerConnection.
		bwe, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(p.start*1000),
			gcc.SendSideBWEMinBitrate(p.min*1000), gcc.SendSideBWEMaxBitrate(p.max*1000),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
		if err != nil {
			return nil, err
		}
		est.BandwidthEstimator = bwe
		return est, nil
	})
	if err != nil {
		return nil, fmt.Errorf("congestion control: %w", err)
	}
	registry.Add(factory)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(engine, registry); err != nil {
		return nil, fmt.Errorf("twcc header extension: %w", err)
	}
	return est, nil
}

// reportBandwidth hands the mixer the viewer's estimate until pion
// closes the estimator with the PeerConnection.
func (s *session) reportBandwidth(l *leg, est *estimator) {
	tick := time.NewTicker(estimatePoll)
	defer tick.Stop()
	var path pathEstimate
	for {
		select {
		case <-est.closed:
			return
		case <-tick.C:
			l.room.mixer.SetViewerBitrate(string(l.role), path.bitrate(est)/1000)
		}
	}
}

// GCC's loss controller (pion's, after the draft) raises its estimate
// only under 2% loss and lowers it whenever 200 ms of packets lost over
// 10%: on a path that loses a steady few percent at random, which short
// windows put over 10% now and then, it only ever falls (1,164 to 459
// kbit/s in 20 s at 5%), although sending less loses as much. So while
// the loss, averaged over a few seconds, stays in the draft's hold band,
// a viewer takes what the delay-based estimate says, which still sees a
// queue building on a narrow path; past it, GCC's own.
const (
	holdLoss        = 0.10
	lossAverageGain = 0.125 // per poll: about 2 s at estimatePoll
)

// pathEstimate is one viewer's bandwidth, read from its GCC estimator.
type pathEstimate struct {
	loss float64 // GCC's loss ratio, averaged over about 2 s
}

// bitrate returns the viewer's bandwidth, in bit/s.
func (p *pathEstimate) bitrate(est cc.BandwidthEstimator) int {
	stats := est.GetStats()
	loss, _ := stats["averageLoss"].(float64)
	delayBased, _ := stats["delayTargetBitrate"].(int)
	p.loss += lossAverageGain * (loss - p.loss)
	if p.loss < holdLoss && delayBased > 0 {
		return delayBased
	}
	return est.GetTargetBitrate()
}
