package loadtest

// Result is a run's outcome; its JSON is a contract for other tools.
type Result struct {
	Calls     int            `json:"calls"`
	DurationS float64        `json:"duration_s"`
	SLOPass   bool           `json:"slo_pass"`
	SLOMissed []string       `json:"slo_missed"`
	Up        int            `json:"calls_up"`
	Refused   map[string]int `json:"refused"` // calls the server refused, by code
	Failed    []string       `json:"failed"`  // calls that failed otherwise, why
	Summary   Summary        `json:"summary"`
	// PerRole is what each role's parties saw, by role (customer, agent,
	// third): how its network (--impair) showed.
	PerRole map[string]RoleSummary `json:"per_role"`
	Streams []Stream               `json:"streams"`
	Series  []Point                `json:"series"`
}

// Summary aggregates every stream and the server's own figures. The CPU
// figures cover the hold: from the moment every call is up to the end.
type Summary struct {
	FPSP50             float64 `json:"fps_p50"`
	FPSMin             float64 `json:"fps_min"`
	LatencyMSP50       float64 `json:"latency_ms_p50"`
	LatencyMSP99       float64 `json:"latency_ms_p99"`
	JoinMSP99          float64 `json:"join_ms_p99"`
	Freezes            int     `json:"freezes"`    // every stream's
	FrameGaps          int     `json:"frame_gaps"` // every stream's
	TilesOKRatio       float64 `json:"tiles_ok_ratio"`
	AudioOKRatio       float64 `json:"audio_ok_ratio"`
	ServerCPUSPerCallS float64 `json:"server_cpu_s_per_call_s"`
	// PerNode is, for a run over a cluster (--server a,b,c), each node's
	// calls and CPU per call-second, by node id.
	PerNode map[string]NodeFigures `json:"per_node,omitempty"`
	// EncodeSPerCallS is the time the server's views spent encoding
	// (threeway_encode_seconds) per call-second, over the same window.
	EncodeSPerCallS float64 `json:"server_encode_s_per_call_s"`
	UplinkKbpsP50   float64 `json:"uplink_kbps_p50"` // a party's camera payload
	ServerRSSMB     float64 `json:"server_rss_mb"`
	// ServerRSSMBPerCall is what the server's RSS grew by from before the
	// run's calls to the end, per call.
	ServerRSSMBPerCall float64 `json:"server_rss_mb_per_call"`
	GeneratorCPUS      float64 `json:"generator_cpu_s"`
	ServerCPUS         float64 `json:"server_cpu_s"`
	// GeneratorCPURatio is GeneratorCPUS / ServerCPUS, both over the hold
	// (every call up). Over 0.5 the generator may be measuring itself.
	// Against a server in this same process both are that process's CPU
	// and the ratio says nothing.
	GeneratorCPURatio float64 `json:"generator_cpu_ratio"`
	HelpMSP99         float64 `json:"help_ms_p99"`  // help request to the helper joined
	PacketsLost       int     `json:"packets_lost"` // RTP packets lost, every stream, video and audio
	LossRatio         float64 `json:"loss_ratio"`   // of the packets expected
	// The mixer's latency target: its p99 should stay under one frame
	// interval of the views (a frame waits at most that for its view's
	// clock) plus the encode time (p99 of the server's encode histogram
	// over the hold). LatencyMSP99, measured end to end, includes more.
	EncodeMSP99     float64 `json:"encode_ms_p99"`
	FrameIntervalMS float64 `json:"frame_interval_ms"` // the views' measured frame rate's
	LatencyTargetMS float64 `json:"latency_target_ms"` // FrameIntervalMS + EncodeMSP99
}

// Stream is what one party received during the hold.
type Stream struct {
	Call         string  `json:"call"`
	Role         string  `json:"role"`
	JoinMS       float64 `json:"join_ms"`
	FPS          float64 `json:"fps"`
	LatencyMSP50 float64 `json:"latency_ms_p50"`
	LatencyMSP99 float64 `json:"latency_ms_p99"`
	UplinkKbps   float64 `json:"uplink_kbps"` // its camera's payload
	// Freezes counts the gaps of over 600 ms between pictures (the
	// browsers' count); FrameGaps those of over three frame intervals.
	Freezes      int  `json:"freezes"`
	FrameGaps    int  `json:"frame_gaps"`
	DecodeErrors int  `json:"decode_errors"`
	TilesOK      bool `json:"tiles_ok"`
	AudioOK      bool `json:"audio_ok"`
	// HelpMS, for the third party, is from the agent's help request to
	// the helper's `joined`; JoinMS starts at the helper's accept.
	HelpMS float64 `json:"help_ms,omitempty"`
	// Packets received and lost (never retransmitted) on the composed
	// video and the mixed audio during the hold; LossRatio is of those
	// expected.
	Packets          int     `json:"packets"`
	PacketsLost      int     `json:"packets_lost"`
	LossRatio        float64 `json:"loss_ratio"`
	VideoPacketsLost int     `json:"video_packets_lost"`
	AudioPacketsLost int     `json:"audio_packets_lost"`
}

// NodeFigures is one node's share of a run over a cluster.
type NodeFigures struct {
	Calls              int     `json:"calls"` // placed on it, and up
	ServerCPUSPerCallS float64 `json:"server_cpu_s_per_call_s"`
}

// RoleSummary is what one role's parties saw during the hold, every call
// together: the pictures they received, their own tile in the other
// parties' pictures, the audio they received, and the feedback on their
// wire. The composed picture runs at the canvas rate whatever one tile
// does, so a party's trouble shows in its tile's rate.
type RoleSummary struct {
	// Network is the role's conditions as a netcond spec, "" for a
	// perfect network.
	Network string  `json:"network"`
	FPSP50  float64 `json:"fps_p50"` // pictures received per second, p50 over its parties
	// TileFPSP50 is how often the role's tile showed a new frame number
	// in the other parties' pictures, p50 over the calls; in each call it
	// is read at the viewer that saw it best, since a viewer's own poor
	// downlink shows in that viewer's figures.
	TileFPSP50 float64 `json:"tile_fps_p50"`
	// Freezes counts gaps of over 600 ms in the pictures it received and
	// between updates of its tile in the others' (at the viewer with the
	// fewest, in each call).
	Freezes      int     `json:"freezes"`
	LatencyMSP99 float64 `json:"latency_ms_p99"` // of every tile in the pictures it received
	// AudioConcealedRatio is the share of the received audio's 20 ms
	// frames a receiver would have concealed (peer.Stats'
	// AudioFramesConcealed of AudioFramesDue).
	AudioConcealedRatio float64 `json:"audio_concealed_ratio"`
	// What its PeerConnections sent and received: NACK messages, key
	// frame requests (PLI, FIR), and packets resent for the server's
	// NACKs.
	NACKsSent       int `json:"nacks_sent"`
	NACKsReceived   int `json:"nacks_received"`
	PLIsSent        int `json:"plis_sent"`
	PLIsReceived    int `json:"plis_received"`
	Retransmissions int `json:"retransmissions"`
}

// Point is one second of the run, for charts.
type Point struct {
	T            float64 `json:"t"` // seconds since the start
	Calls        int     `json:"calls"`
	Healthy      int     `json:"healthy_streams"`
	FPS          float64 `json:"fps_mean"`
	LatencyMSP50 float64 `json:"latency_ms_p50"`
	ServerCores  float64 `json:"server_cores"` // CPU seconds per second
}
