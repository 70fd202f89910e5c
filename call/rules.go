package call

import (
	"fmt"
	"strings"

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
	msg := fmt.Sprintf("Back to equal tiles: %s, and an enlarged tile or a shared screen needs everyone's camera on in a three-party call.", whoHasVideoOff(lacking))
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
		if c.videoMode == SFU {
			return refuse(CodeLayoutUnsupportedInSFU, "This server forwards each camera as it is (sfu mode), so there is no composed picture to enlarge a tile in.")
		}
		if cs.parties[l.Party] == nil {
			return refuse(CodePartyNotPresent, "The %s is not in the call, so their tile cannot be enlarged.", nameOf(l.Party))
		}
		if l.Party == viewer && !p.selfView {
			e := refuse(CodePartyNotInView, "Your own tile is hidden; show yourself first to enlarge it.")
			e.Parties = []Role{viewer}
			return e
		}
		if err := refuseWithoutVideo(cs, "Enlarging a tile"); err != nil {
			return err
		}
	default:
		return refuse(CodeInvalidField, "The layout must be equal or maximize.")
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
		return refuse(CodeShareUnsupportedInSFU, "This server forwards each camera as it is (sfu mode), so there is no composed picture to share a screen into.")
	}
	switch cs.share {
	case role:
		return nil
	case "":
	default:
		return refuse(CodeShareInProgress, "The %s is sharing their screen; only one share at a time.", nameOf(cs.share))
	}
	if err := refuseWithoutVideo(cs, "Sharing the screen"); err != nil {
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
		return refuse(CodeNotSharing, "You are not sharing your screen.")
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
	e := refuse(CodeVideoNotEnabledForAll, "%s needs everyone's camera on in a three-party call, and %s.", what, whoHasVideoOff(lacking))
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

// nameOf is how a message names a role: "customer", "agent", "third
// party".
func nameOf(r Role) string {
	if r == Third {
		return "third party"
	}
	return string(r)
}

// whoHasVideoOff says, in a sentence's words, which parties have their
// camera off: "the customer has their camera off", "the agent and the
// third party have their cameras off".
func whoHasVideoOff(roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = "the " + nameOf(r)
	}
	if len(names) == 1 {
		return names[0] + " has their camera off"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " have their cameras off"
}
