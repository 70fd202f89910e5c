// threeway test page: a party of a call and an agent console, over one
// WebSocket at /ws (signaling/PROTOCOL.md). What the page shows comes from
// the server's messages, above all `call.state`; a click only sends a
// command, and the page changes when the server says so.
//
//   ?call=ID&role=ROLE&token=T&name=N   fill the join form (press Join)
//   ?console=AGENT_TOKEN                open the agent console
//
// A reload, a dropped socket or a lost media path is not a hang-up: the
// page comes back into its seat on its own (reconnect.js).
//
// Both may be given: the agent's call page then also gets the directory
// (queues, agents) for its three-party form.
//
// For tests, window.threeway holds the last call.state (state), every
// server message (messages), the console's presence and directory, and
// the open help offers.
"use strict";

const $ = (id) => document.getElementById(id);
const ROLES = ["customer", "agent", "third"];
const params = new URLSearchParams(location.search);

const threeway = {
  state: null,      // the last call.state
  messages: [],     // every server message, oldest first
  presence: null,   // the last presence (console)
  directory: null,  // {queues, agents} after agent.signin
  offers: {},       // open help offers by request id, with a local deadline
  role: null,       // this socket's role while a party
};
window.threeway = threeway;

let ws = null;
let wsReady = null;   // resolves when ws is open
let pc = null;
let local = null;     // camera and microphone
let videoTx = null;   // the camera's transceiver (the composed picture comes back on it)
let audioTx = null;
let share = null;     // {stream, sender} while sharing the screen
let sharePending = false;
let signaling = Promise.resolve(); // negotiation steps run in order

// ---------------------------------------------------------------- utils

function status(text, kind) {
  $("status").textContent = text;
  $("status").className = "status" + (kind ? " " + kind : "");
  log(text, kind);
}

function log(text, kind) {
  const li = document.createElement("li");
  li.textContent = new Date().toLocaleTimeString() + "  " + text;
  if (kind === "error") li.className = "error";
  const list = $("log");
  list.prepend(li);
  while (list.children.length > 100) list.lastChild.remove();
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(msg));
    return true;
  }
  status("Not connected to the server.", "error");
  return false;
}

// inOrder runs a negotiation step after the previous ones.
function inOrder(step) {
  signaling = signaling.then(step).catch((err) => log("negotiation: " + err, "error"));
  return signaling;
}

function roleName(role) {
  return role === "third" ? "third party" : role;
}

// ---------------------------------------------------------------- socket

function connect() {
  if (ws) return wsReady;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(scheme + "//" + location.host + "/ws");
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
    onMessage(msg);
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

// ---------------------------------------------------------------- messages

const leftReasons = {
  hangup: "You left the call.",
  rejoined: "You joined this call again from another page.",
  dropped: "The agent removed you from the call.",
  connection_failed: "Your media connection failed; you left the call.",
  no_media: "Your camera and microphone never connected to the call; you left it. Join again to retry.",
  call_ended: "The call has ended.",
  server_shutdown: "The server is shutting down; the call has ended.",
};

const helpFailures = {
  no_agent_available: "no agent is available",
  rejected: "the agent declined",
  timeout: "nobody answered in time",
  cancelled: "the request was cancelled",
  external_calls_not_configured: "external calls are not configured",
  sip_not_configured: "no SIP gateway is configured for external numbers",
};

function onMessage(msg) {
  switch (msg.type) {
    case "joined":
      holdSeat(msg);
      threeway.role = msg.role;
      status("Joined call " + msg.call + " as " + roleName(msg.role) + ". Connecting media…");
      startMedia().catch((err) => status("Media setup failed: " + err.message, "error"));
      break;
    case "answer":
      inOrder(async () => {
        if (!pc || pc.signalingState !== "have-local-offer") return; // a stale answer
        await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      });
      break;
    case "candidate":
      if (msg.candidate && msg.candidate.candidate) {
        inOrder(async () => { if (pc) await pc.addIceCandidate(msg.candidate); });
      }
      break;
    case "call.state":
      threeway.state = msg;
      onState(msg);
      break;
    case "left":
      releaseSeat();
      status(leftReasons[msg.reason] || "You left the call (" + msg.reason + ").", msg.reason === "hangup" ? "" : "warn");
      endMedia();
      break;
    case "presence":
      if (!threeway.presence) status("Signed in as agent " + msg.agent + ".");
      threeway.presence = msg;
      renderConsole();
      break;
    case "directory":
      threeway.directory = { queues: msg.queues || [], agents: msg.agents || [], contacts: msg.contacts || [],
        dialOut: msg.dial_out || { enabled: false, hint: "" } };
      renderHelpFields();
      break;
    case "help.offer":
      threeway.offers[msg.request] = Object.assign({ deadline: Date.now() + (msg.expires_in_ms || 0) }, msg);
      status("Help requested by " + who(msg.from) + ".");
      renderOffers();
      break;
    case "help.withdrawn":
      if (threeway.offers[msg.request]) {
        delete threeway.offers[msg.request];
        status("Help request withdrawn (" + msg.reason.replace(/_/g, " ") + ").", "warn");
        renderOffers();
      }
      break;
    case "help.progress":
      status(helpProgressText(msg));
      break;
    case "help.failed":
      status("No third party: " + (helpFailures[msg.reason] || msg.reason) + ".", "warn");
      break;
    case "layout.reset":
      status("Layout back to equal tiles: " + (msg.message || msg.reason.replace(/_/g, " ")) + ".", "warn");
      break;
    case "share.stopped":
      if (threeway.role && msg.party === threeway.role) stopLocalShare();
      status("Screen share of the " + roleName(msg.party) + " ended (" + msg.reason.replace(/_/g, " ") + ").",
        msg.reason === "stopped" ? "" : "warn");
      break;
    case "error":
      onError(msg);
      break;
  }
}

function onError(msg) {
  let text = "Refused: " + msg.code.replace(/_/g, " ") + (msg.message ? " – " + msg.message : "");
  if (msg.parties && msg.parties.length) text += " (" + msg.parties.map(roleName).join(", ") + ")";
  status(text, "error");
  rejoinRefused(msg);
  if (sharePending) sharePending = false;
  if (msg.request && threeway.offers[msg.request] && ["no_such_request", "agent_unavailable"].includes(msg.code)) {
    delete threeway.offers[msg.request];
    renderOffers();
  }
  if (!pc && !threeway.role) $("joinButton").disabled = false;
  renderControls();
}

function who(person) {
  if (!person) return "someone";
  return person.name ? person.name + (person.id ? " (" + person.id + ")" : "") : person.id;
}

function helpProgressText(msg) {
  const target = msg.mode === "queue" ? "from a queue" : msg.mode === "number" ? "by phone" : "";
  switch (msg.state) {
    case "searching": return "Looking for a third party " + target + "…";
    case "ringing": return "Asking " + who(msg.agent) + "…";
    case "accepted": return who(msg.agent) + " accepted and is joining.";
  }
  return "Help: " + msg.state;
}

// ---------------------------------------------------------------- media

async function getLocalMedia() {
  if (local) return local;
  const tries = [
    { video: { width: 640, height: 360 }, audio: true },
    { audio: true },
    { video: { width: 640, height: 360 } },
  ];
  for (const constraints of tries) {
    try {
      local = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (err) {
      log("getUserMedia " + JSON.stringify(constraints) + ": " + err.message, "error");
    }
  }
  if (!local) local = new MediaStream(); // receive only; the server sees no camera
  $("self").srcObject = local;
  return local;
}

// startMedia sets up this leg's PeerConnection as the protocol asks: one
// sendrecv video and one sendrecv audio transceiver, then an offer
// (negotiationneeded). A missing camera or microphone leaves its
// transceiver without a track, and the server is told.
async function startMedia() {
  endPeerConnection();
  const stream = await getLocalMedia();
  pc = new RTCPeerConnection();
  const camera = stream.getVideoTracks()[0] || null;
  const mic = stream.getAudioTracks()[0] || null;
  videoTx = pc.addTransceiver(camera || "video", { direction: "sendrecv", streams: [stream] });
  audioTx = pc.addTransceiver(mic || "audio", { direction: "sendrecv", streams: [stream] });
  const remote = new MediaStream();
  $("mix").srcObject = remote;
  $("placeholder").hidden = true;
  const mine = pc;
  pc.ontrack = (e) => {
    // The composed picture comes back on the camera's transceiver; other
    // video (none expected) is not shown.
    if (e.track.kind === "audio" || e.transceiver === videoTx) remote.addTrack(e.track);
  };
  pc.onicecandidate = (e) => {
    if (e.candidate && pc === mine) send({ type: "candidate", candidate: e.candidate.toJSON() });
  };
  pc.onnegotiationneeded = () => inOrder(async () => {
    if (pc !== mine || pc.signalingState !== "stable") return; // fires again once stable
    await pc.setLocalDescription();
    send({ type: "offer", sdp: pc.localDescription.sdp });
  });
  pc.onconnectionstatechange = () => {
    if (pc !== mine) return;
    if (pc.connectionState === "connected") status("In the call.");
    followIce(mine);
  };
  if (!camera) send({ type: "video.set", on: false });
  if (!mic) send({ type: "audio.set", on: false });
  keepOwnFlags();
  $("leaveButton").disabled = false;
  $("joinButton").disabled = true;
  renderAll();
}

function endPeerConnection() {
  stopLocalShare(true);
  if (pc) {
    pc.close();
    pc = null;
  }
  videoTx = audioTx = null;
}

// endMedia ends this party's leg on the page: the socket (and a console)
// stays.
function endMedia() {
  endPeerConnection();
  if (local) {
    for (const t of local.getTracks()) t.stop();
    local = null;
  }
  sharePending = false;
  threeway.role = null;
  $("mix").srcObject = null;
  $("self").srcObject = null;
  $("placeholder").hidden = false;
  $("leaveButton").disabled = true;
  $("joinButton").disabled = false;
  $("three-party-form").hidden = true;
  renderAll();
}

// ---------------------------------------------------------------- join

async function join(event) {
  event.preventDefault();
  $("joinButton").disabled = true;
  try {
    await getLocalMedia(); // ask while the click still counts as a gesture
    await connect();
  } catch (err) {
    status("Cannot join: " + err.message, "error");
    $("joinButton").disabled = false;
    return;
  }
  status("Joining…");
  send({ type: "join", call: $("call").value, role: $("role").value,
    name: $("name").value, token: $("token").value });
}

// ---------------------------------------------------------------- state

function me() {
  const s = threeway.state;
  if (!s || !threeway.role) return null;
  return (s.parties || []).find((p) => p.role === s.you) || null;
}

function present(role) {
  const s = threeway.state;
  return !!(s && (s.parties || []).some((p) => p.role === role));
}

function onState(s) {
  // The server ended our share (e.g. someone's video went off).
  if (share && !(s.share && s.share.party === s.you)) stopLocalShare();
  // Our share.start was accepted: now capture the screen and offer it.
  if (sharePending && s.share && s.share.party === s.you) {
    sharePending = false;
    startLocalShare();
  }
  keepOwnFlags();
  renderAll();
}

function renderAll() {
  renderWho();
  renderParties();
  renderControls();
  renderConsole();
}

function renderWho() {
  const s = threeway.state;
  const parts = [];
  if (threeway.role && s) parts.push("call " + s.call + " · you are the " + roleName(s.you) + " · " + s.mode);
  if (threeway.presence) parts.push("agent " + threeway.presence.agent);
  $("who").textContent = parts.join(" · ");
}

function renderParties() {
  const list = $("parties");
  list.textContent = "";
  const s = threeway.state;
  if (!s || !threeway.role) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "Not in a call.";
    list.append(li);
    $("help").hidden = true;
    return;
  }
  for (const p of s.parties || []) {
    const li = document.createElement("li");
    li.dataset.role = p.role;
    const dot = document.createElement("span");
    dot.className = "role " + p.role;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = roleName(p.role) + (p.name ? " – " + p.name : "");
    li.append(dot, name);
    if (p.role === s.you) {
      const you = document.createElement("span");
      you.className = "you";
      you.textContent = "you";
      li.append(you);
    }
    for (const [flag, on] of [["video", p.video], ["audio", p.audio]]) {
      const f = document.createElement("span");
      f.className = "flag " + flag + (on ? "" : " off");
      f.textContent = flag + (on ? " on" : " off");
      li.append(f);
    }
    if (s.share && s.share.party === p.role) {
      const f = document.createElement("span");
      f.className = "flag sharing";
      f.textContent = "sharing";
      li.append(f);
    }
    if (p.reconnecting) {
      const f = document.createElement("span");
      f.className = "flag reconnecting";
      f.textContent = "reconnecting…";
      li.append(f);
    }
    list.append(li);
  }
  const h = s.help;
  $("help").hidden = !h;
  if (h) {
    const target = h.mode === "queue" ? "queue " + h.queue : h.mode === "agent" ? "agent" : "number";
    $("help").textContent = "Help " + h.state + " (" + target + ")" + (h.agent ? ": " + who(h.agent) : "");
  }
}

// renderControls shows each control only where the call's state allows it
// and labels the toggles with what the server says is the case now.
function renderControls() {
  const s = threeway.state;
  const self = me();
  const inCall = !!(pc && self);
  $("controls").hidden = !inCall;
  if (!inCall) return;
  const isAgent = s.you === "agent";
  const parties = (s.parties || []).length;

  $("btn-video").textContent = self.video ? "Camera off" : "Camera on";
  $("btn-video").classList.toggle("on", !self.video);
  $("btn-video").disabled = !(local && local.getVideoTracks().length);
  $("btn-audio").textContent = self.audio ? "Mute" : "Unmute";
  $("btn-audio").classList.toggle("on", !self.audio);
  $("btn-audio").disabled = !(local && local.getAudioTracks().length);
  $("btn-self-view").textContent = s.self_view === false ? "Show me" : "Hide me";

  // In sfu mode the server forwards the other party's own camera: there
  // is no composed picture to arrange or share into.
  const composed = s.mode !== "sfu";
  $("btn-self-view").hidden = !composed;
  const sharer = s.share ? s.share.party : null;
  $("btn-share").hidden = !composed;
  $("btn-share").textContent = sharer === s.you ? "Stop sharing" : "Share screen";
  $("btn-share").disabled = (sharer && sharer !== s.you) || sharePending;

  const layout = s.layout || { mode: "equal" };
  $("btn-equal").classList.toggle("active", layout.mode === "equal");
  for (const role of ROLES) {
    const b = $("btn-max-" + role);
    b.hidden = !composed || !present(role);
    b.classList.toggle("active", layout.mode === "maximize" && layout.party === role);
  }
  $("btn-equal").hidden = !composed || parties < 2;

  $("btn-three-party").hidden = !isAgent || parties >= 3 || !!s.help;
  $("btn-cancel-help").hidden = !isAgent || !s.help;
  $("btn-drop-third").hidden = !isAgent || !present("third");
  if ($("btn-three-party").hidden) $("three-party-form").hidden = true;
}

// ---------------------------------------------------------------- controls

function toggleVideo() {
  const self = me();
  const camera = local && local.getVideoTracks()[0];
  if (!self || !camera || !videoTx) return;
  const on = !self.video;
  // Off: send nothing (no frozen frame); on: the camera again.
  camera.enabled = on;
  videoTx.sender.replaceTrack(on ? camera : null);
  send({ type: "video.set", on });
}

function toggleAudio() {
  const self = me();
  const mic = local && local.getAudioTracks()[0];
  if (!self || !mic) return;
  const on = !self.audio;
  mic.enabled = on;
  send({ type: "audio.set", on });
}

function toggleSelfView() {
  const s = threeway.state;
  if (s) send({ type: "self_view.set", on: s.self_view === false });
}

function setLayout(mode, party) {
  send(party ? { type: "layout.set", mode, party } : { type: "layout.set", mode });
}

function toggleShare() {
  const s = threeway.state;
  if (!s) return;
  if (s.share && s.share.party === s.you) {
    send({ type: "share.stop" });
    stopLocalShare();
    return;
  }
  // The server decides first (everyone's video must be on); the capture
  // starts when a call.state shows this party sharing.
  if (send({ type: "share.start" })) {
    sharePending = true;
    renderControls();
  }
}

async function startLocalShare() {
  if (share || !pc) return;
  let stream;
  try {
    // The server refuses pictures over 2560x1600: a 4K screen is scaled down.
    stream = await navigator.mediaDevices.getDisplayMedia({
      video: { width: { max: 2560 }, height: { max: 1600 } },
      audio: false,
    });
  } catch (err) {
    status("Screen capture refused: " + err.message, "error");
    send({ type: "share.stop" });
    return;
  }
  if (!pc) {
    for (const t of stream.getTracks()) t.stop();
    return;
  }
  const track = stream.getVideoTracks()[0];
  // Its own stream: a second video track, offered by negotiationneeded.
  share = { stream, sender: pc.addTrack(track, stream) };
  track.onended = () => { // the browser's own "Stop sharing"
    if (share && share.stream === stream) {
      send({ type: "share.stop" });
      stopLocalShare();
    }
  };
  renderControls();
}

// stopLocalShare stops capturing and removes the track (negotiationneeded
// offers again), unless the whole connection is going away.
function stopLocalShare(closing) {
  if (!share) return;
  const { stream, sender } = share;
  share = null;
  for (const t of stream.getTracks()) t.stop();
  if (!closing && pc && pc.signalingState !== "closed") {
    try {
      pc.removeTrack(sender);
    } catch (err) {
      log("remove screen track: " + err.message, "error");
    }
  }
}

// ---------------------------------------------------------------- three-party form

function openHelpForm() {
  renderHelpFields();
  $("three-party-form").hidden = false;
}

// renderHelpFields offers the directory's queues and agents as lists when
// the server sent one, otherwise free text fields for their ids.
function renderHelpFields() {
  const dir = threeway.directory;
  const fill = (field, id, items, label) => {
    const slot = $(field).querySelector(".slot");
    const old = $(id);
    const keep = old ? old.value : "";
    slot.textContent = "";
    let el;
    if (dir && items.length) {
      el = document.createElement("select");
      for (const item of items) {
        const o = document.createElement("option");
        o.value = item.id;
        o.textContent = label(item);
        el.append(o);
      }
      if (items.some((i) => i.id === keep)) el.value = keep;
    } else {
      el = document.createElement("input");
      el.placeholder = field === "help-queue-field" ? "queue id, e.g. billing" : "agent id, e.g. bob";
      el.autocomplete = "off";
      el.value = keep;
    }
    el.id = id;
    slot.append(el);
  };
  fill("help-queue-field", "help-queue", dir ? dir.queues : [], (q) => q.name || q.id);
  fill("help-agent-field", "help-agent", dir ? dir.agents : [],
    (a) => (a.name || a.id) + (a.state && a.state !== "idle" ? " (" + a.state + ")" : ""));
  renderNumberField(dir);
  showHelpMode();
}

// renderNumberField offers the directory's contacts beside a field to type
// a number, hinted with the dial plan, once the server can dial out; a
// server without a SIP gateway gets no number option.
function renderNumberField(dir) {
  const dialOut = dir ? dir.dialOut : { enabled: true, hint: "" }; // no directory: let the server say
  const option = $("help-mode").querySelector('option[value="number"]');
  option.disabled = !dialOut.enabled;
  option.textContent = dialOut.enabled ? "a number" : "a number (no SIP gateway)";
  if (!dialOut.enabled && $("help-mode").value === "number") $("help-mode").value = "queue";
  const contacts = $("help-contact");
  contacts.length = 1;
  for (const c of dir ? dir.contacts : []) {
    const o = document.createElement("option");
    o.value = c.number;
    o.textContent = c.name + " (" + c.number + ")";
    contacts.append(o);
  }
  contacts.parentElement.hidden = contacts.length === 1;
  $("help-number").placeholder = dialOut.hint || "+15551234567";
  $("help-number").title = dialOut.hint;
  $("help-number-hint").textContent = dialOut.hint;
}

function pickContact() {
  if ($("help-contact").value) $("help-number").value = $("help-contact").value;
}

function showHelpMode() {
  const mode = $("help-mode").value;
  $("help-queue-field").hidden = mode !== "queue";
  $("help-agent-field").hidden = mode !== "agent";
  $("help-number-field").hidden = mode !== "number";
}

function requestHelp(event) {
  event.preventDefault();
  const mode = $("help-mode").value;
  const field = { queue: "help-queue", agent: "help-agent", number: "help-number" }[mode];
  const value = $(field).value.trim();
  if (!value) {
    status("Say which " + mode + " to ask.", "error");
    return;
  }
  if (send({ type: "help.request", mode, [mode]: value })) $("three-party-form").hidden = true;
}

function cancelHelp() {
  const s = threeway.state;
  if (s && s.help) send({ type: "help.cancel", request: s.help.request });
}

// ---------------------------------------------------------------- console

function signIn() {
  $("console").hidden = false;
  status("Signing in…");
  connect()
    .then(() => send({ type: "agent.signin", token: params.get("console") }))
    .catch((err) => status("Console: " + err.message, "error"));
}

function renderConsole() {
  const p = threeway.presence;
  const pill = $("presence");
  const button = $("btn-presence");
  if (!p) {
    pill.textContent = ws ? "signing in…" : "offline";
    pill.className = "pill";
    button.disabled = true;
    return;
  }
  const since = p.since ? new Date(p.since).toLocaleTimeString() : "";
  pill.textContent = p.agent + ": " + p.state + (since ? " since " + since : "");
  pill.className = "pill " + p.state;
  button.textContent = p.state === "away" ? "Back (idle)" : "Go away";
  button.disabled = p.state === "busy";
}

function togglePresence() {
  const p = threeway.presence;
  if (p && p.state !== "busy") send({ type: "presence.set", state: p.state === "away" ? "idle" : "away" });
}

let offerTimer = null;

function renderOffers() {
  const list = $("offers");
  list.textContent = "";
  const now = Date.now();
  const open = Object.values(threeway.offers);
  for (const o of open) {
    const li = document.createElement("li");
    li.id = "offer-" + o.request;
    const left = Math.max(0, Math.ceil((o.deadline - now) / 1000));
    if (left === 0) li.className = "expired";
    const what = document.createElement("div");
    what.className = "what";
    const via = o.mode === "queue" && o.queue ? " via queue " + o.queue : "";
    what.textContent = who(o.from) + " asks for help with customer " + (o.customer || "?") + via + " ";
    const countdown = document.createElement("span");
    countdown.className = "countdown";
    countdown.textContent = left + " s";
    what.append(countdown);
    const accept = document.createElement("button");
    accept.id = "accept-" + o.request;
    accept.className = "primary accept";
    accept.type = "button";
    accept.textContent = "Accept";
    accept.disabled = left === 0 || !!threeway.role;
    accept.onclick = () => acceptOffer(o.request);
    const reject = document.createElement("button");
    reject.id = "reject-" + o.request;
    reject.className = "reject";
    reject.type = "button";
    reject.textContent = "Reject";
    reject.onclick = () => rejectOffer(o.request);
    const row = document.createElement("div");
    row.className = "row";
    row.append(accept, reject);
    li.append(what, row);
    list.append(li);
  }
  $("no-offers").hidden = open.length > 0;
  if (open.length && !offerTimer) offerTimer = setInterval(renderOffers, 250);
  if (!open.length && offerTimer) {
    clearInterval(offerTimer);
    offerTimer = null;
  }
}

async function acceptOffer(request) {
  await getLocalMedia(); // while the click still counts as a gesture
  if (send({ type: "help.accept", request })) {
    delete threeway.offers[request]; // the server answers with joined or an error
    renderOffers();
    status("Accepted; joining the call…");
  }
}

function rejectOffer(request) {
  if (send({ type: "help.reject", request })) {
    delete threeway.offers[request];
    renderOffers();
  }
}

// ---------------------------------------------------------------- wiring

for (const key of ["call", "role", "name", "token"]) {
  if (params.has(key)) $(key).value = params.get(key);
}
if (params.has("console") && !params.has("call")) $("join").hidden = true;

$("join").addEventListener("submit", join);
$("leaveButton").addEventListener("click", () => send({ type: "leave" }));
$("btn-video").addEventListener("click", toggleVideo);
$("btn-audio").addEventListener("click", toggleAudio);
$("btn-self-view").addEventListener("click", toggleSelfView);
$("btn-share").addEventListener("click", toggleShare);
$("btn-equal").addEventListener("click", () => setLayout("equal"));
for (const role of ROLES) $("btn-max-" + role).addEventListener("click", () => setLayout("maximize", role));
$("btn-three-party").addEventListener("click", openHelpForm);
$("btn-cancel-help").addEventListener("click", cancelHelp);
$("btn-drop-third").addEventListener("click", () => send({ type: "party.drop", party: "third" }));
$("btn-hangup").addEventListener("click", () => send({ type: "hangup" }));
$("three-party-form").addEventListener("submit", requestHelp);
$("help-contact").addEventListener("change", pickContact);
$("btn-help-close").addEventListener("click", () => { $("three-party-form").hidden = true; });
$("help-mode").addEventListener("change", showHelpMode);
$("btn-presence").addEventListener("click", togglePresence);

renderHelpFields();
renderAll();
renderOffers();
if (params.has("console")) signIn();
