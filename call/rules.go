package call

import (
	"fmt"

	"github.com/threeway-mcu/threeway/layout"
)

// SetVideo turns a party's camera on or off. Off in a three-party call
// undoes what needs everyone's video: maximizing viewers go back to equal
// and a share stops, each told why.
func (c *Center) SetVideo(callID string, role Role, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	p.video = on
	if lacking := cs.needsAllVideo(); len(lacking) > 0 {
		c.revertAllVideoRules(cs, lacking)
	}
	c.changed(cs)
	return nil
}

// revertAllVideoRules stops the share and resets maximized layouts
// because lacking have no video.
func (c *Center) revertAllVideoRules(cs *callState, lacking []Role) {
	msg := fmt.Sprintf("%v turned video off: maximize and sharing need everyone's video", lacking)
	if cs.share != "" {
		sharer := cs.share
		cs.share = ""
		c.toAll(cs, ShareStopped{Party: sharer, Reason: CodeVideoNotEnabledForAll})
	}
	for _, r := range cs.present() {
		viewer := cs.parties[r]
		if viewer.layout.Mode == layout.Maximize {
			viewer.layout = EqualLayout
			c.notify.ToParty(cs.id, r, LayoutReset{Reason: CodeVideoNotEnabledForAll, Message: msg, Parties: lacking})
		}
	}
}

// SetAudio turns a party's microphone on or off.
func (c *Center) SetAudio(callID string, role Role, on bool) error {
	return c.setFlag(callID, role, func(p *party) { p.audio = on })
}

// SetSelfView shows or hides the viewer's own tile in its picture. A
// viewer who hides itself while maximizing itself goes back to equal and is
// told why: its layout never names a party its picture does not show.
func (c *Center) SetSelfView(callID string, role Role, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	p.selfView = on
	if !on && p.layout.Mode == layout.Maximize && p.layout.Party == role {
		p.layout = EqualLayout
		c.notify.ToParty(callID, role, LayoutReset{Reason: CodePartyNotInView,
			Message: "your own tile is hidden, so it cannot stay maximized", Parties: []Role{role}})
	}
	c.changed(cs)
	return nil
}

func (c *Center) setFlag(callID string, role Role, set func(*party)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	set(p)
	c.changed(cs)
	return nil
}

// SetLayout sets a viewer's own layout: equal, or one present party
// maximized, which a three-party call allows only while everyone has video.
func (c *Center) SetLayout(callID string, viewer Role, l Layout) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, viewer)
	if err != nil {
		return err
	}
	switch l.Mode {
	case layout.Equal:
		l.Party = ""
	case layout.Maximize:
		if cs.parties[l.Party] == nil {
			return refuse(CodePartyNotPresent, "cannot maximize %q: not in the call", l.Party)
		}
		if l.Party == viewer && !p.selfView {
			e := refuse(CodePartyNotInView, "cannot maximize yourself while your own tile is hidden (self_view off)")
			e.Parties = []Role{viewer}
			return e
		}
		if err := refuseWithoutVideo(cs, "maximize"); err != nil {
			return err
		}
	default:
		return refuse(CodeInvalidField, "layout mode must be equal or maximize")
	}
	p.layout = l
	c.changed(cs)
	return nil
}

// StartShare makes role the call's screen sharer.
func (c *Center) StartShare(callID string, role Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, _, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	if c.videoMode == SFU {
		return refuse(CodeShareUnsupportedInSFU, "screen sharing needs the mcu video mode; this server runs sfu")
	}
	switch cs.share {
	case role:
		return nil
	case "":
	default:
		return refuse(CodeShareInProgress, "%s is sharing", cs.share)
	}
	if err := refuseWithoutVideo(cs, "share the screen"); err != nil {
		return err
	}
	cs.share = role
	c.changed(cs)
	return nil
}

// StopShare ends role's share.
func (c *Center) StopShare(callID string, role Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, _, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	if cs.share != role {
		return refuse(CodeNotSharing, "%s is not sharing", role)
	}
	cs.share = ""
	c.toAll(cs, ShareStopped{Party: role, Reason: ReasonStopped})
	c.changed(cs)
	return nil
}

func refuseWithoutVideo(cs *callState, what string) error {
	lacking := cs.needsAllVideo()
	if len(lacking) == 0 {
		return nil
	}
	e := refuse(CodeVideoNotEnabledForAll, "cannot %s: %v have video off, and a three-party call needs everyone's video", what, lacking)
	e.Parties = lacking
	return e
}

// needsAllVideo reports the parties lacking video when the rule "in a
// three-party call, maximize and share need everyone's video" applies.
func (cs *callState) needsAllVideo() []Role {
	if len(cs.parties) < 3 {
		return nil
	}
	return cs.withoutVideo()
}

// withoutVideo lists present parties whose video is off.
func (cs *callState) withoutVideo() []Role {
	var out []Role
	for _, r := range cs.present() {
		if !cs.parties[r].video {
			out = append(out, r)
		}
	}
	return out
}
