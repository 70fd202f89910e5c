// threeway test page: the WebSocket to /ws. Messages go out with send;
// each that comes in is recorded (threeway.messages) and handed to the
// handler its type was registered for with on. A socket that drops while
// the page holds a seat, or a console, dials again with backoff and takes
// up where it was (signaling/PROTOCOL.md, "Reconnecting"): the seat (call,
// role, name and the token `joined` gave) is kept in sessionStorage from
// `joined` until `left`, so a reload joins it back at once.

import { $, params, threeway, handlers, status, roleName } from "./page.js";
import { endMedia, getLocalMedia } from "./media.js";
import { renderConsole } from "./console.js";

export let ws = null;
let wsReady = null; // resolves when ws is open

const SEAT_KEY = "threeway.seat";
const REJOIN_TRIES = 30; // refused with role_taken: the old socket not yet gone

export const rejoin = {
  seat: null,     // {call, role, name, token} while this tab holds a seat
  pending: false, // a join for the seat is out
  tries: 0,
  delay: 500,     // before the next dial
  timer: null,
  console: false, // the console was signed in when the socket dropped
};
threeway.rejoin = rejoin;

export function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(msg));
    return true;
  }
  status("Not connected to the server.", "error");
  return false;
}

export function connect() {
  if (ws) return wsReady;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // The call's id lets any node of a cluster pass the socket to the node
  // that holds the call (PROTOCOL.md).
  const call = (rejoin.seat && rejoin.seat.call) || params.get("call");
  const query = call ? "?call=" + encodeURIComponent(call) : "";
  ws = new WebSocket(scheme + "//" + location.host + "/ws" + query);
  wsReady = new Promise((resolve, reject) => {
    ws.onopen = () => {
      $("connection").textContent = "online";
      $("connection").className = "pill online";
      resolve();
    };
    ws.onerror = () => reject(new Error("cannot reach the server"));
  });
  ws.onmessage = (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch (err) {
      log("undecodable message: " + e.data, "error");
      return;
    }
    threeway.messages.push(msg);
    if (handlers[msg.type]) handlers[msg.type](msg);
  };
  ws.onclose = (e) => {
    ws = null;
    wsReady = null;
    $("connection").textContent = "offline";
    $("connection").className = "pill offline";
    endMedia();
    // A socket left idle after its call is closed by the server
    // (auth_timeout): the page's last status still says why it is idle.
    if (!onSocketLost() && e.reason !== "auth_timeout") status("Disconnected from the server.", "error");
    threeway.presence = null;
    renderConsole();
  };
  return wsReady;
}

// holdSeat keeps the seat `joined` gave this tab.
export function holdSeat(msg) {
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
export function releaseSeat() {
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
export function rejoinRefused(msg) {
  if (!rejoin.pending) return;
  rejoin.pending = false;
  if (msg.code === "role_taken" && ++rejoin.tries < REJOIN_TRIES) {
    setTimeout(sendRejoin, 1000);
    return;
  }
  releaseSeat();
  $("joinButton").disabled = false;
}

export function setPill(text, className) {
  $("connection").textContent = text;
  $("connection").className = className;
}

// restoreSeat joins back, at once, the seat a reloaded tab held.
export function restoreSeat() {
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
}
