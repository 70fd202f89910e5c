package signaling

import (
	"errors"

	"github.com/threeway-mcu/threeway/call"
)

// MediaPath is the path ICE chose for a party's media, as the server sees
// it, and the bytes that crossed it so far.
type MediaPath struct {
	Protocol       string // "udp" or "tcp"
	Sent, Received uint64 // bytes, both ways, RTCP and ICE included
}

// PartyMediaPath is the path of a party's media, once ICE has chosen it.
func (srv *Server) PartyMediaPath(callID, role string) (MediaPath, error) {
	l := srv.legOf(callID, call.Role(role))
	if l == nil || l.peer() == nil {
		return MediaPath{}, errors.New("no media leg yet")
	}
	for _, sender := range l.peer().GetSenders() {
		ice := sender.Transport().ICETransport()
		pair, err := ice.GetSelectedCandidatePair()
		if err == nil && pair != nil {
			stats := ice.Stats()
			return MediaPath{Protocol: pair.Local.Protocol.String(), Sent: stats.BytesSent, Received: stats.BytesReceived}, nil
		}
	}
	return MediaPath{}, errors.New("no candidate pair chosen yet")
}

// ViewerBitrate is the bitrate of the picture a party of an mcu call
// receives, and whether it was split off from the others' for its low
// bandwidth.
func (srv *Server) ViewerBitrate(callID, role string) (kbps int, split bool) {
	l := srv.legOf(callID, call.Role(role))
	if l == nil {
		return 0, false
	}
	return l.room.mixer.ViewerBitrate(role)
}
