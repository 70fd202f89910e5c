package signaling

import (
	"errors"
	"net"
	"strconv"

	"github.com/threeway-mcu/threeway/call"
)

// PartyAddr is the address the server sends a party's media to, once ICE
// has chosen it.
func (srv *Server) PartyAddr(callID, role string) (string, error) {
	l := srv.legOf(callID, call.Role(role))
	if l == nil || l.peer() == nil {
		return "", errors.New("no media leg yet")
	}
	for _, sender := range l.peer().GetSenders() {
		pair, err := sender.Transport().ICETransport().GetSelectedCandidatePair()
		if err == nil && pair != nil {
			return net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port))), nil
		}
	}
	return "", errors.New("no candidate pair chosen yet")
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
