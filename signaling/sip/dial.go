package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/signaling"
)

// tryingTimeout: a gateway answers an INVITE with 100 Trying at once; one
// that has said nothing this long is taken for unreachable.
const tryingTimeout = 4 * time.Second

// byeTimeout bounds the wait for a BYE's answer.
const byeTimeout = 5 * time.Second

// dial is one number being called for a help request, from the INVITE to
// the end of its leg. Its goroutine (Dialer.run) owns it; hangUp, from
// any goroutine, asks it to end.
type dial struct {
	callID, id, number string
	ctx                context.Context // cancelled by hangUp: a CANCEL while it rings
	cancel             context.CancelCauseFunc
	hungUp             chan struct{}
	once               sync.Once

	// Set once answered, under the Dialer's lock: the dialog, and the
	// SDP of the codec chosen, which re-INVITEs carry.
	sess *sipgo.DialogClientSession
	sdp  []byte
	// refreshed is when the gateway last refreshed the session (unix ns).
	refreshed atomic.Int64
}

func newDial(callID, id, number string) *dial {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &dial{callID: callID, id: id, number: number, ctx: ctx, cancel: cancel, hungUp: make(chan struct{})}
}

func (dl *dial) hangUp() {
	dl.once.Do(func() {
		close(dl.hungUp)
		dl.cancel(nil)
	})
}

// run places dl and carries its leg until one side hangs up.
func (d *Dialer) run(dl *dial) {
	defer d.forget(dl)
	log := d.log.With("call_id", dl.callID, "request", dl.id)
	leg, err := listenRTP(d.local.IP, d.cfg.Ports, d.cfg.Discarded)
	if err != nil {
		d.fail(dl, log, call.DialGatewayError, err)
		return
	}
	defer leg.close()
	sess, a, err := d.place(dl, leg, log)
	switch {
	case err == nil:
		defer sess.Close()
		d.join(dl, sess, a, leg, log)
	case errors.Is(err, errUnreachable) || dl.ctx.Err() == nil:
		d.fail(dl, log, failure(err), err)
	default:
		log.Info("dial cancelled", "err", err) // the center hung it up
	}
}

// place calls dl's number and returns the answered dialog and what its
// SDP answer chose.
func (d *Dialer) place(dl *dial, leg *rtpLeg, log *slog.Logger) (*sipgo.DialogClientSession, answer, error) {
	sess, err := d.invite(dl, leg)
	if err != nil {
		return nil, answer{}, err
	}
	a, err := parseAnswer(sess.InviteResponse.Body())
	if err != nil {
		d.bye(sess, log)
		sess.Close()
		return nil, answer{}, err
	}
	return sess, a, nil
}

// join seats the answered phone in its call, its RTP in the mix, and
// carries the leg until it ends.
func (d *Dialer) join(dl *dial, sess *sipgo.DialogClientSession, a answer, leg *rtpLeg, log *slog.Logger) {
	leg.start(a)
	disconnect, err := d.media.ConnectPhone(dl.callID, call.Third, signaling.PhoneAudio{In: leg, Out: leg, Codec: a.codec})
	if err != nil {
		d.bye(sess, log)
		d.fail(dl, log, call.DialGatewayError, err)
		return
	}
	defer disconnect()
	if _, err := d.center.DialAnswered(dl.callID, dl.id); err != nil {
		log.Info("answered too late", "err", err)
		d.bye(sess, log)
		return
	}
	log.Info("phone answered", "codec", a.codec, "rtp", a.remote)
	body, err := describe(leg.addr(), a.pt, ptTelephoneEvent)
	if err != nil {
		d.end(dl, sess, log, call.ReasonConnectionFailed, err)
		return
	}
	d.answered(dl, sess, body)
	d.talk(dl, sess, body, leg, log)
}

// answered records dl's dialog and SDP, for session refreshes.
func (d *Dialer) answered(dl *dial, sess *sipgo.DialogClientSession, body []byte) {
	dl.refreshed.Store(time.Now().UnixNano())
	d.mu.Lock()
	defer d.mu.Unlock()
	dl.sess, dl.sdp = sess, body
}

// refreshedBy notes that the gateway refreshed sess (a re-INVITE or an
// UPDATE in its dialog) and returns the SDP to answer with; nil: no
// answered dial has that dialog.
func (d *Dialer) refreshedBy(sess *sipgo.DialogClientSession) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dl := range d.dials {
		if dl.sess == sess {
			dl.refreshed.Store(time.Now().UnixNano())
			return dl.sdp
		}
	}
	return nil
}

var errUnreachable = errors.New("the gateway did not answer the INVITE")

// invite sends the INVITE and waits for the phone to answer (ringing is
// reported on the way), then ACKs the answer. Hanging up while it rings
// sends a CANCEL.
func (d *Dialer) invite(dl *dial, leg *rtpLeg) (*sipgo.DialogClientSession, error) {
	body, err := offer(leg.addr())
	if err != nil {
		return nil, err
	}
	to := d.gateway
	to.User = dl.number
	from := &sipmsg.FromHeader{Address: d.from, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	sess, err := d.dialogs.Invite(dl.ctx, to, body, from, sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	var heard, unreachable atomic.Bool
	silence := time.AfterFunc(tryingTimeout, func() {
		if !heard.Load() {
			unreachable.Store(true)
			dl.cancel(sipgo.WaitAnswerForceCancelErr) // no CANCEL: nothing answered to cancel
		}
	})
	defer silence.Stop()
	err = sess.WaitAnswer(dl.ctx, sipgo.AnswerOptions{
		Username: d.cfg.User, Password: d.cfg.Password,
		OnResponse: func(res *sipmsg.Response) error {
			heard.Store(true)
			if res.StatusCode == sipmsg.StatusRinging || res.StatusCode == sipmsg.StatusSessionInProgress {
				d.center.DialRinging(dl.callID, dl.id)
			}
			return nil
		},
	})
	if unreachable.Load() {
		err = fmt.Errorf("%w in %v", errUnreachable, tryingTimeout)
	}
	if err != nil {
		if res := sess.InviteResponse; res != nil && res.IsSuccess() {
			// Answered as the CANCEL went out: end the call it made.
			_ = sess.Ack(context.Background())
			d.bye(sess, d.log)
		}
		sess.Close()
		return nil, err
	}
	if err := sess.Ack(context.Background()); err != nil {
		d.bye(sess, d.log)
		sess.Close()
		return nil, fmt.Errorf("ack: %w", err)
	}
	return sess, nil
}

// talk carries an answered leg until the phone hangs up (BYE), the
// center hangs it up, the phone falls silent for RTPTimeout, or its
// session is not refreshed in time (RFC 4028): a dead leg ends.
func (d *Dialer) talk(dl *dial, sess *sipgo.DialogClientSession, body []byte, leg *rtpLeg, log *slog.Logger) {
	timer := sessionTimerOf(sess.InviteResponse)
	check := time.NewTicker(min(time.Second, max(timer.interval/4, 100*time.Millisecond)))
	defer check.Stop()
	end := func(reason string, err error) { d.end(dl, sess, log, reason, err) }
	for {
		select {
		case <-sess.Context().Done():
			log.Info("phone hung up")
			_ = d.center.Leave(dl.callID, call.Third, call.ReasonHangup)
			return
		case <-dl.hungUp:
			d.bye(sess, log)
			return
		case now := <-check.C:
			if leg.silentFor(now) > d.cfg.RTPTimeout {
				end(call.ReasonNoMedia, fmt.Errorf("no RTP for %v", d.cfg.RTPTimeout))
				return
			}
			if timer.interval == 0 || now.Before(timer.due(time.Unix(0, dl.refreshed.Load()))) {
				continue
			}
			if !timer.byUs {
				end(call.ReasonConnectionFailed, fmt.Errorf("the gateway did not refresh the session in %v", timer.interval))
				return
			}
			if err := d.refresh(sess, body); err != nil {
				end(call.ReasonConnectionFailed, err)
				return
			}
			dl.refreshed.Store(now.UnixNano())
		}
	}
}

// end hangs up an answered leg the phone or its session let die, and
// has the phone leave the call for reason.
func (d *Dialer) end(dl *dial, sess *sipgo.DialogClientSession, log *slog.Logger, reason string, err error) {
	log.Info("ending the phone's leg", "reason", reason, "err", err)
	d.bye(sess, log)
	_ = d.center.Leave(dl.callID, call.Third, reason)
}

func (d *Dialer) bye(sess *sipgo.DialogClientSession, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := sess.Bye(ctx); err != nil {
		log.Info("bye", "err", err)
	}
}

// fail reports a dial that will not answer.
func (d *Dialer) fail(dl *dial, log *slog.Logger, reason string, err error) {
	log.Info("dial failed", "reason", reason, "err", err)
	d.center.DialFailed(dl.callID, dl.id, reason)
}

// failure maps why a dial failed to help.failed's reason: the final
// response's status, or gateway_error when none came.
func failure(err error) string {
	var res *sipgo.ErrDialogResponse
	if !errors.As(err, &res) {
		return call.DialGatewayError
	}
	switch res.Res.StatusCode {
	case 486, 600:
		return call.DialBusy
	case 404, 484:
		return call.DialNotFound
	case 408, 480:
		return call.DialNoAnswer
	case 603:
		return call.DialRejected
	}
	return call.DialGatewayError
}
