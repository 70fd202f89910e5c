// threeway test page: joins a call over /ws (signaling/PROTOCOL.md) and
// shows the composed picture and plays the mix the server sends back.
"use strict";

const $ = (id) => document.getElementById(id);
let ws = null;
let pc = null;

const params = new URLSearchParams(location.search);
for (const key of ["call", "role", "name", "token"]) {
  if (params.has(key)) $(key).value = params.get(key);
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

async function join(event) {
  event.preventDefault();
  $("joinButton").disabled = true;
  let local;
  try {
    local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  } catch (err) {
    status("Camera or microphone refused: " + err.message, true);
    $("joinButton").disabled = false;
    return;
  }
  $("self").srcObject = local;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(scheme + "//" + location.host + "/ws");
  ws.onopen = () => send({ type: "join", call: $("call").value, role: $("role").value,
    name: $("name").value, token: $("token").value });
  ws.onmessage = (e) => onMessage(JSON.parse(e.data), local);
  ws.onclose = () => { status("Disconnected.", true); hangUp(); };
}

async function onMessage(msg, local) {
  switch (msg.type) {
    case "joined":
      status("Joined call " + msg.call + " as " + msg.role + ". Connecting media…");
      $("leaveButton").disabled = false;
      await startMedia(local);
      break;
    case "answer":
      await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      break;
    case "offer":
      await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: "answer", sdp: pc.localDescription.sdp });
      break;
    case "candidate":
      if (pc && msg.candidate) await pc.addIceCandidate(msg.candidate);
      break;
    case "call.state":
      $("parties").textContent = "In the call: " + msg.parties.map(
        (p) => p.role + (p.name ? " (" + p.name + ")" : "") + (p.video ? "" : " – no video")).join(", ");
      break;
    case "left":
      status("Left the call (" + msg.reason + ").");
      hangUp();
      break;
    case "error":
      status("Error " + msg.code + ": " + msg.message, true);
      if (!pc) $("joinButton").disabled = false;
      break;
  }
}

async function startMedia(local) {
  pc = new RTCPeerConnection();
  for (const track of local.getTracks()) pc.addTrack(track, local);
  const remote = new MediaStream();
  $("mix").srcObject = remote;
  pc.ontrack = (e) => remote.addTrack(e.track);
  pc.onicecandidate = (e) => { if (e.candidate) send({ type: "candidate", candidate: e.candidate.toJSON() }); };
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === "connected") status("In the call.");
    if (pc && pc.connectionState === "failed") status("Media connection failed.", true);
  };
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: "offer", sdp: pc.localDescription.sdp });
}

function hangUp() {
  if (pc) { pc.close(); pc = null; }
  if (ws) { const w = ws; ws = null; w.onclose = null; w.close(); }
  $("leaveButton").disabled = true;
  $("joinButton").disabled = false;
}

$("join").addEventListener("submit", join);
$("leaveButton").addEventListener("click", () => { send({ type: "leave" }); });
