package signaling

import (
	"fmt"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
)

// PhoneAudio is a phone party's audio, dialled over SIP: the RTP its
// voice comes in and where the mix for it goes, both in Codec.
type PhoneAudio struct {
	In    mixer.RTPReader
	Out   mixer.SampleWriter
	Codec mixer.AudioCodec
}

// ConnectPhone joins a phone's audio to call callID's mix as role. Its
// voice is mixed until In fails; it hears the mix once a call state seats
// it (the dialer connects it before the center does). disconnect takes
// it out of the mix.
func (srv *Server) ConnectPhone(callID string, role call.Role, a PhoneAudio) (disconnect func(), err error) {
	key := legKey{callID, role}
	srv.mu.Lock()
	r := srv.rooms[callID]
	switch {
	case r == nil || r.mixer == nil:
		srv.mu.Unlock()
		return nil, fmt.Errorf("call %s has no mixed media to join a phone to", callID)
	case srv.legs[key] != nil || srv.phones[key] != nil:
		srv.mu.Unlock()
		return nil, fmt.Errorf("call %s: %s is taken", callID, role)
	}
	ph := &a
	srv.phones[key] = ph
	srv.mu.Unlock()
	go func() { _ = r.mixer.IngestAudioCodec(string(role), a.In, a.Codec) }()
	return func() {
		srv.mu.Lock()
		if srv.phones[key] == ph {
			delete(srv.phones, key)
		}
		srv.mu.Unlock()
		r.refresh()
	}, nil
}

func (srv *Server) phoneOf(callID string, role call.Role) *PhoneAudio {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.phones[legKey{callID, role}]
}
