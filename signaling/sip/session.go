package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// minSessionInterval floors a Session-Expires too short to act on.
const minSessionInterval = 2 * time.Second

// sessionTimer is what the answer's Session-Expires (RFC 4028) asks: the
// session ends unless refreshed within interval, by us (the UAC) or by
// the gateway.
type sessionTimer struct {
	interval time.Duration // 0: no session timer
	byUs     bool
}

// sessionTimerOf reads res's Session-Expires ("x" in compact form).
func sessionTimerOf(res *sipmsg.Response) sessionTimer {
	h := res.GetHeader("Session-Expires")
	if h == nil {
		h = res.GetHeader("x")
	}
	if h == nil {
		return sessionTimer{}
	}
	secs, params, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(secs))
	if err != nil || n <= 0 {
		return sessionTimer{}
	}
	return sessionTimer{
		interval: max(time.Duration(n)*time.Second, minSessionInterval),
		byUs:     strings.Contains(strings.ReplaceAll(strings.ToLower(params), " ", ""), "refresher=uac"),
	}
}

// due is when the session next needs attention: our refresh at half the
// interval, or the end of the gateway's interval since it last refreshed.
func (st sessionTimer) due(refreshed time.Time) time.Time {
	if st.byUs {
		return refreshed.Add(st.interval / 2)
	}
	return refreshed.Add(st.interval)
}

// refresh re-INVITEs the phone with the leg's SDP (body) and ACKs its
// 2xx; any other outcome is a failed refresh.
func (d *Dialer) refresh(sess *sipgo.DialogClientSession, body []byte) error {
	target := sess.InviteRequest.Recipient
	if c := sess.InviteResponse.Contact(); c != nil {
		target = c.Address
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	req.SetBody(body)
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.Laddr = sess.InviteRequest.Laddr
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	res, err := sess.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("session refresh: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("session refresh: %d %s", res.StatusCode, res.Reason)
	}
	ack := sipmsg.NewRequest(sipmsg.ACK, target)
	ack.Laddr = sess.InviteRequest.Laddr
	return sess.WriteRequest(ack)
}
