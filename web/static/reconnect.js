// threeway test page: coming back after a reload, a dropped socket or a
// lost media path (signaling/PROTOCOL.md, "Reconnecting"). The seat this
// tab holds (call, role, name and the token `joined` gave) is kept in
// sessionStorage from `joined` until `left`: a reload joins it back at
// once, a dropped socket is dialled again with backoff and the seat joined
// back (the console signed in again), and a media path that fails, or
// stays disconnected, restarts ICE. The server keeps the seat, with its
// layout and flags, for its rejoin grace.
"use strict";

const SEAT_KEY = "threeway.seat";
const ICE_RESTART_AFTER_MS = 3000; // of "disconnected"
const REJOIN_TRIES = 30;           // refused with role_taken: the old socket not yet gone

const rejoin = {
  seat: null,     // {call, role, name, token} while this tab holds a seat
  pending: false, // a join for the seat is out
  tries: 0,
  delay: 500,     // before the next dial
  timer: null,
  console: false, // the console was signed in when the socket dropped
};
threeway.rejoin = rejoin;

// holdSeat keeps the seat `joined` gave this tab.
function holdSeat(msg) {
  const sent = rejoin.seat || {};
  rejoin.seat = {
    call: msg.call, role: msg.role,
    name: sent.call === msg.call ? sent.name : $("name").value,
    token: msg.token || $("token").value,
  };
  rejoin.pending = false;
  rejoin.tries = 0;
  sessionStorage.setItem(SEAT_KEY, JSON.stringify(rejoin.seat));
}

// releaseSeat forgets the seat: the party left (or the seat is gone).
function releaseSeat() {
  rejoin.seat = null;
  rejoin.pending = false;
  sessionStorage.removeItem(SEAT_KEY);
}

// onSocketLost dials again if there is something to come back to, and
// reports whether it will.
function onSocketLost() {
  rejoin.console = rejoin.console || !!threeway.presence;
  if (!rejoin.seat && !rejoin.console) return false;
  setPill("reconnecting", "pill busy");
  status("Connection lost. Reconnecting…", "warn");
  redialLater();
  return true;
}

function redialLater() {
  if (rejoin.timer) return;
  rejoin.timer = setTimeout(redial, rejoin.delay);
  rejoin.delay = Math.min(2 * rejoin.delay, 5000);
}

// redial opens a socket and takes up where the last one was; a failure
// closes it, which dials again later.
function redial() {
  rejoin.timer = null;
  connect().then(() => {
    rejoin.delay = 500;
    if (rejoin.console && params.has("console")) send({ type: "agent.signin", token: params.get("console") });
    rejoin.console = false;
    if (rejoin.seat) sendRejoin();
  }).catch(() => {}); // onclose follows
}

function sendRejoin() {
  const s = rejoin.seat;
  if (!s) return;
  rejoin.pending = true;
  status("Rejoining call " + s.call + " as " + roleName(s.role) + "…", "warn");
  send({ type: "join", call: s.call, role: s.role, name: s.name, token: s.token });
}

// rejoinRefused handles an error that answers a rejoin: role_taken tries
// again shortly (the server has not seen the old socket go yet); anything
// else means the seat is gone.
function rejoinRefused(msg) {
  if (!rejoin.pending) return;
  rejoin.pending = false;
  if (msg.code === "role_taken" && ++rejoin.tries < REJOIN_TRIES) {
    setTimeout(sendRejoin, 1000);
    return;
  }
  releaseSeat();
  $("joinButton").disabled = false;
}

// followIce restarts ICE on a connection that failed, or that stayed
// disconnected: an offer with new credentials (negotiationneeded).
function followIce(conn) {
  clearTimeout(conn.iceTimer);
  switch (conn.connectionState) {
    case "failed":
      status("Media connection lost. Restarting it…", "warn");
      conn.restartIce();
      break;
    case "disconnected":
      status("Media connection interrupted. Reconnecting…", "warn");
      conn.iceTimer = setTimeout(() => {
        if (conn === pc && conn.connectionState === "disconnected") conn.restartIce();
      }, ICE_RESTART_AFTER_MS);
      break;
  }
}

// keepOwnFlags makes what this page sends follow its seat's flags, which
// a rejoined seat keeps: a camera the party had turned off stays off.
function keepOwnFlags() {
  const self = me();
  if (!self || !local) return;
  const camera = local.getVideoTracks()[0];
  if (camera && videoTx) {
    camera.enabled = self.video;
    const want = self.video ? camera : null;
    if (videoTx.sender.track !== want) videoTx.sender.replaceTrack(want);
  }
  const mic = local.getAudioTracks()[0];
  if (mic) mic.enabled = self.audio;
}

function setPill(text, className) {
  $("connection").textContent = text;
  $("connection").className = className;
}

// A reload of a tab that held a seat joins it back at once.
(() => {
  let stored = null;
  try {
    stored = JSON.parse(sessionStorage.getItem(SEAT_KEY));
  } catch (err) {
    stored = null;
  }
  if (!stored || !stored.call || !stored.token) return;
  rejoin.seat = stored;
  $("call").value = stored.call;
  $("role").value = stored.role;
  $("name").value = stored.name || "";
  $("joinButton").disabled = true;
  getLocalMedia().catch(() => {}).then(redial);
})();
