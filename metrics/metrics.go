// Package metrics is threeway's Prometheus instrumentation: the media
// work of every mixer (through mixer.Observer), RTCP feedback, help-seeking
// outcomes, and gauges read from the call center at scrape time.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/threeway-mcu/threeway/mixer"
)

// Metrics holds the server's collectors in their own registry.
type Metrics struct {
	registry *prometheus.Registry
	// register adds collectors to registry, with the node's label in a
	// cluster (NewNode).
	register prometheus.Registerer

	decodeSeconds   prometheus.Histogram
	composeSeconds  prometheus.Histogram
	encodeSeconds   prometheus.Histogram
	framesDecoded   prometheus.Counter
	decodeFailures  prometheus.Counter
	framesComposed  prometheus.Counter
	framesEncoded   prometheus.Counter
	framesDropped   prometheus.Counter
	framesSent      prometheus.Counter
	encodedBytes    prometheus.Counter
	views           prometheus.Gauge
	encoders        *prometheus.GaugeVec
	viewKbps        prometheus.Histogram
	viewerKbps      prometheus.Histogram
	viewersSplit    prometheus.Gauge
	audioFrames     map[string]prometheus.Counter
	packetsLost     prometheus.Counter
	picturesSkipped prometheus.Counter
	packetsDropped  prometheus.Counter
	plisSent        prometheus.Counter
	rtcpReceived    *prometheus.CounterVec
	rtcpSent        *prometheus.CounterVec
	helpOutcomes    *prometheus.CounterVec
	refusals        *prometheus.CounterVec
}

// kbpsBuckets span 100 kbit/s (a view's floor) to 3.2 Mbit/s.
var kbpsBuckets = prometheus.ExponentialBuckets(100, 1.414, 11)

// mediaBuckets span 0.25 ms to about 0.5 s: decode, compose and encode of
// one frame.
var mediaBuckets = prometheus.ExponentialBuckets(0.00025, 2, 12)

// New makes the collectors and registers them with the process and Go
// runtime collectors.
func New() *Metrics { return newMetrics(nil) }

// NewNode is New for a node of a cluster: every series carries the label
// node="id".
func NewNode(id string) *Metrics { return newMetrics(prometheus.Labels{"node": id}) }

func newMetrics(labels prometheus.Labels) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{registry: reg, register: prometheus.WrapRegistererWith(labels, reg)}
	f := factory{m.register}
	m.decodeSeconds = f.histogram("threeway_decode_seconds", "Time to decode one inbound VP8 frame and make the picture sizes its tiles show.")
	m.composeSeconds = f.histogram("threeway_compose_seconds", "Time to compose one view frame: copying each tile's picture into the canvas (sources make the tile sizes as they decode; a size asked for anew is scaled here once).")
	m.encodeSeconds = f.histogram("threeway_encode_seconds", "Time to encode one view frame.")
	m.framesDecoded = f.counter("threeway_frames_decoded_total", "Inbound video frames decoded.")
	m.decodeFailures = f.counter("threeway_decode_failures_total", "Inbound video frames that could not be decoded.")
	m.framesComposed = f.counter("threeway_frames_composed_total", "View frames composed.")
	m.framesEncoded = f.counter("threeway_frames_encoded_total", "View frames encoded (once per view, however many viewers).")
	m.framesDropped = f.counter("threeway_frames_dropped_total", "View frames not made in time or not encoded.")
	m.framesSent = f.counter("threeway_frames_sent_total", "Encoded view frames written to viewers.")
	m.encodedBytes = f.counter("threeway_encoded_bytes_total", "Bytes of encoded view frames.")
	m.views = f.gauge("threeway_views", "Views running; each has one encoder.")
	m.encoders = f.gaugeVec("threeway_video_encoders",
		"Video encoders running, by kind: view (one per view, mcu) or placeholder (an sfu receiver shown a camera that is off).", "kind")
	m.viewKbps = f.kbpsHistogram("threeway_view_bitrate_kbps",
		"Views' encoder bitrate, observed once a second per view: the least their viewers' paths take, at most --video-bitrate.")
	m.viewerKbps = f.kbpsHistogram("threeway_viewer_bandwidth_kbps",
		"Viewers' estimated bandwidth (congestion control, TWCC), observed four times a second per viewer (mcu).")
	m.viewersSplit = f.gauge("threeway_viewers_split", "Viewers moved to a view of their own for their low bandwidth.")
	audio := f.counterVec("threeway_audio_frames_total",
		"20 ms audio frames by the work done or saved: decoded (a voice's frame), quiet (a voice's silence, not decoded), encoded (a mix), dtx (a listener's silent mix, not encoded).", "work")
	m.audioFrames = map[string]prometheus.Counter{}
	for _, work := range []string{mixer.AudioDecoded, mixer.AudioQuiet, mixer.AudioEncoded, mixer.AudioDTX} {
		m.audioFrames[work] = audio.WithLabelValues(work)
	}
	m.picturesSkipped = f.counter("threeway_pictures_skipped_total",
		"Decoded source pictures replaced before the views showing them drew one: a tile that missed a frame although none was lost.")
	m.packetsLost = f.counter("threeway_rtp_packets_lost_total", "Inbound video RTP packets never received.")
	m.packetsDropped = f.counter("threeway_rtp_packets_discarded_total", "Inbound RTP packets dropped unread: unparsable, or holding no frame.")
	m.plisSent = f.counter("threeway_pli_sent_total", "Key frame requests (PLI) sent to parties.")
	m.rtcpReceived = f.counterVec("threeway_rtcp_received_total", "Feedback received from viewers, by type.", "type")
	m.rtcpSent = f.counterVec("threeway_rtcp_sent_total",
		"Feedback the server sent to parties about their media, by type: nack (pion's generator, for lost packets), pli, fir.", "type")
	m.helpOutcomes = f.counterVec("threeway_help_outcomes_total", "How help requests ended: accepted or the failure reason.", "outcome")
	m.refusals = f.counterVec("threeway_refusals_total", "Requests refused with an error, by code.", "code")
	// Series that exist from the start, so that a scrape shows them at 0.
	for _, kind := range []string{"view", "placeholder"} {
		m.encoders.WithLabelValues(kind)
	}
	for _, kind := range []string{"nack", "pli", "fir"} {
		m.rtcpSent.WithLabelValues(kind)
		m.rtcpReceived.WithLabelValues(kind)
	}
	m.register.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Register adds a collector, such as the call center's gauges.
func (m *Metrics) Register(c prometheus.Collector) error { return m.register.Register(c) }

type factory struct{ r prometheus.Registerer }

func (f factory) histogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: mediaBuckets})
	f.r.MustRegister(h)
	return h
}

func (f factory) kbpsHistogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: kbpsBuckets})
	f.r.MustRegister(h)
	return h
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.r.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help, label string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	f.r.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help, label string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{label})
	f.r.MustRegister(g)
	return g
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.r.MustRegister(g)
	return g
}

// The mixer.Observer methods.

// FrameDecoded implements mixer.Observer.
func (m *Metrics) FrameDecoded(took time.Duration) {
	m.framesDecoded.Inc()
	m.decodeSeconds.Observe(took.Seconds())
}

// DecodeFailed implements mixer.Observer.
func (m *Metrics) DecodeFailed() { m.decodeFailures.Inc() }

// PictureSkipped implements mixer.Observer.
func (m *Metrics) PictureSkipped() { m.picturesSkipped.Inc() }

// PacketsLost implements mixer.Observer.
func (m *Metrics) PacketsLost(n int) { m.packetsLost.Add(float64(n)) }

// PacketDiscarded implements mixer.Observer.
func (m *Metrics) PacketDiscarded() { m.packetsDropped.Inc() }

// KeyframeRequested implements mixer.Observer.
func (m *Metrics) KeyframeRequested() { m.plisSent.Inc() }

// FrameComposed implements mixer.Observer.
func (m *Metrics) FrameComposed(compose, encode time.Duration, bytes, viewers int) {
	m.framesComposed.Inc()
	m.composeSeconds.Observe(compose.Seconds())
	m.encodeSeconds.Observe(encode.Seconds())
	if bytes > 0 {
		m.framesEncoded.Inc()
		m.encodedBytes.Add(float64(bytes))
		m.framesSent.Add(float64(viewers))
	}
}

// FramesDropped implements mixer.Observer.
func (m *Metrics) FramesDropped(n int) { m.framesDropped.Add(float64(n)) }

// ViewsChanged implements mixer.Observer.
func (m *Metrics) ViewsChanged(delta int) { m.views.Add(float64(delta)) }

// EncodersChanged implements mixer.Observer.
func (m *Metrics) EncodersChanged(kind string, delta int) {
	m.encoders.WithLabelValues(kind).Add(float64(delta))
}

// ViewBitrate implements mixer.Observer.
func (m *Metrics) ViewBitrate(kbps int) { m.viewKbps.Observe(float64(kbps)) }

// ViewerBandwidth implements mixer.Observer.
func (m *Metrics) ViewerBandwidth(kbps int) { m.viewerKbps.Observe(float64(kbps)) }

// ViewersSplit implements mixer.Observer.
func (m *Metrics) ViewersSplit(delta int) { m.viewersSplit.Add(float64(delta)) }

// AudioFrame implements mixer.Observer.
func (m *Metrics) AudioFrame(work string) {
	if c := m.audioFrames[work]; c != nil {
		c.Inc()
	}
}

// RTCPReceived counts one feedback packet from a viewer: "pli", "fir",
// "nack".
func (m *Metrics) RTCPReceived(kind string) { m.rtcpReceived.WithLabelValues(kind).Inc() }

// RTCPSent counts one feedback packet the server sent a party about its
// media: "nack", "pli", "fir".
func (m *Metrics) RTCPSent(kind string) { m.rtcpSent.WithLabelValues(kind).Inc() }

// HelpOutcome counts how one help request ended.
func (m *Metrics) HelpOutcome(outcome string) { m.helpOutcomes.WithLabelValues(outcome).Inc() }

// Refused counts a refusal by its code.
func (m *Metrics) Refused(code string) { m.refusals.WithLabelValues(code).Inc() }
