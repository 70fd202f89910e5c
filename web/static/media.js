// threeway test page: this party's media. One PeerConnection per leg:
// the camera and microphone out on sendrecv transceivers, the composed
// picture and the mix back on them; a screen share is a second video
// track, added once the server accepts it. Negotiation steps run in
// order; a connection that fails or stays disconnected restarts ICE. The
// connection panel reads getStats once a second.

import { $, threeway, status, log, on } from "./page.js";
import { send } from "./connection.js";
import { me } from "./call.js";
import { renderAll, renderControls } from "./view.js";

export let pc = null;
export let local = null;   // camera and microphone
let videoTx = null;        // the camera's transceiver (the composed picture comes back on it)
let audioTx = null;
let share = null;          // {stream, sender} while sharing the screen
export let sharePending = false; // share.start sent, not yet answered
let negotiation = Promise.resolve(); // negotiation steps run in order

const ICE_RESTART_AFTER_MS = 3000; // of "disconnected"
// The camera is captured at up to 720p; send.limits scales what is sent
// down to the largest tile that shows it.
const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 } };
let limits = null; // the last send.limits

on("send.limits", (msg) => {
  limits = msg;
  threeway.sendLimits = msg;
  applyLimits();
});

// Standard sizes a view.size is rounded up to.
const VIEW_SIZES = [[640, 360], [960, 540], [1280, 720], [1920, 1080]];
let reportedSize = "";

// reportViewSize tells the server the size the received picture is shown
// at, in device pixels, rounded up to a standard size: in sfu mode the
// other party's camera sends no more than that.
export function reportViewSize() {
  if (!pc) return;
  const el = $("mix");
  const w = el.clientWidth * (window.devicePixelRatio || 1);
  const h = el.clientHeight * (window.devicePixelRatio || 1);
  const [width, height] = VIEW_SIZES.find(([sw, sh]) => sw >= w && sh >= h) || VIEW_SIZES[VIEW_SIZES.length - 1];
  const size = width + "x" + height;
  if (size !== reportedSize && send({ type: "view.size", width, height })) reportedSize = size;
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(reportViewSize, 500);
});

// applyLimits has the camera's sender send no more than the limits ask:
// scaled down to the tile's size, at the canvas's rate and a bitrate to
// match. Before the connection negotiated there is nothing to set yet;
// it is applied again once connected.
async function applyLimits() {
  const sender = videoTx && videoTx.sender;
  if (!limits || !sender || !sender.track) return;
  const camera = sender.track.getSettings();
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) return;
  const scale = Math.max(1, (camera.width || limits.width) / limits.width, (camera.height || limits.height) / limits.height);
  Object.assign(params.encodings[0], { scaleResolutionDownBy: scale, maxFramerate: limits.fps, maxBitrate: limits.bitrate });
  // The size is the tile's: under load the sender drops frames, not pixels.
  params.degradationPreference = "maintain-resolution";
  try {
    await sender.setParameters(params);
  } catch (err) {
    log("send limits: " + err.message);
  }
}

on("answer", (msg) => inOrder(async () => {
  if (!pc || pc.signalingState !== "have-local-offer") return; // a stale answer
  await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
}));
on("candidate", (msg) => {
  if (msg.candidate && msg.candidate.candidate) {
    inOrder(async () => { if (pc) await pc.addIceCandidate(msg.candidate); });
  }
});

// inOrder runs a negotiation step after the previous ones.
function inOrder(step) {
  negotiation = negotiation.then(step).catch((err) => log("negotiation: " + err, "error"));
  return negotiation;
}

export async function getLocalMedia() {
  if (local) return local;
  const tries = [
    { video: CAMERA, audio: true },
    { audio: true },
    { video: CAMERA },
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
export async function startMedia() {
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
    if (pc.connectionState === "connected") {
      status("In the call.");
      applyLimits();
      reportViewSize();
    }
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
  limits = null;
  reportedSize = "";
  stopLocalShare(true);
  if (pc) {
    pc.close();
    pc = null;
  }
  videoTx = audioTx = null;
}

// endMedia ends this party's leg on the page: the socket (and a console)
// stays.
export function endMedia() {
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
export function keepOwnFlags() {
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

// followShare starts or stops the capture as the call's state says: the
// server accepted this party's share.start, or ended its share.
export function followShare(s) {
  if (share && !(s.share && s.share.party === s.you)) stopLocalShare();
  if (sharePending && s.share && s.share.party === s.you) {
    sharePending = false;
    startLocalShare();
  }
}

// shareRefused forgets a share.start the server refused.
export function shareRefused() {
  sharePending = false;
}

// ---------------------------------------------------------------- controls

export function toggleVideo() {
  const self = me();
  const camera = local && local.getVideoTracks()[0];
  if (!self || !camera || !videoTx) return;
  const on = !self.video;
  // Off: send nothing (no frozen frame); on: the camera again.
  camera.enabled = on;
  videoTx.sender.replaceTrack(on ? camera : null);
  send({ type: "video.set", on });
}

export function toggleAudio() {
  const self = me();
  const mic = local && local.getAudioTracks()[0];
  if (!self || !mic) return;
  const on = !self.audio;
  mic.enabled = on;
  send({ type: "audio.set", on });
}

export function toggleSelfView() {
  const s = threeway.state;
  if (s) send({ type: "self_view.set", on: s.self_view === false });
}

export function setLayout(mode, party) {
  send(party ? { type: "layout.set", mode, party } : { type: "layout.set", mode });
}

export function toggleShare() {
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
export function stopLocalShare(closing) {
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

// ---------------------------------------------------------------- stats

// outboundVideo is what the camera's sender sends now (outbound-rtp's
// frame size and rate) beside what the camera captures, for tests and
// the curious: threeway.outboundVideo().
threeway.outboundVideo = async () => {
  const sender = videoTx && videoTx.sender;
  if (!pc || !sender || !sender.track) return null;
  const report = await sender.getStats();
  let out = null;
  report.forEach((r) => {
    if (r.type === "outbound-rtp" && r.frameWidth) {
      out = { width: r.frameWidth, height: r.frameHeight, fps: r.framesPerSecond || 0 };
    }
  });
  if (out) out.capture = sender.track.getSettings();
  return out;
};

// outboundAudio is what the microphone's sender has sent (outbound-rtp's
// packets and bytes): in silence, with the DTX the server asks for, far
// fewer than 50 packets a second. threeway.outboundAudio(), for tests.
threeway.outboundAudio = async () => {
  const sender = audioTx && audioTx.sender;
  if (!pc || !sender || !sender.track) return null;
  const report = await sender.getStats();
  let out = null;
  report.forEach((r) => {
    if (r.type === "outbound-rtp") out = { packets: r.packetsSent, bytes: r.bytesSent };
  });
  return out;
};

async function readStats(conn) {
  const report = await conn.getStats();
  const out = { fps: null, size: null, lost: 0, received: 0, rtt: null };
  report.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video" && r.frameWidth) {
      out.fps = r.framesPerSecond ?? out.fps;
      out.size = r.frameWidth + "×" + r.frameHeight;
    }
    if (r.type === "inbound-rtp") {
      out.lost += Math.max(0, r.packetsLost || 0);
      out.received += r.packetsReceived || 0;
    }
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded" && r.currentRoundTripTime !== undefined) {
      out.rtt = r.currentRoundTripTime;
    }
  });
  return out;
}

function renderStats(s) {
  const rows = [
    ["Picture", s.size ? s.size + (s.fps !== null ? " at " + Math.round(s.fps) + " fps" : "") : "waiting…"],
    ["Loss", s.received + s.lost ? (100 * s.lost / (s.received + s.lost)).toFixed(1) + " %" : "–"],
    ["Round trip", s.rtt !== null ? Math.round(s.rtt * 1000) + " ms" : "–"],
  ];
  const list = $("stats-list");
  list.textContent = "";
  for (const [name, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.testid = "stat-" + name.toLowerCase().replace(" ", "-");
    list.append(dt, dd);
  }
}

async function pollStats() {
  const conn = pc;
  $("stats").hidden = !conn;
  if (!conn) return;
  try {
    threeway.stats = await readStats(conn);
    renderStats(threeway.stats);
  } catch (err) {
    // The connection closed between the check and the read: next second.
  }
}

setInterval(pollStats, 1000);
