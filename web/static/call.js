// threeway test page: the call as the server tells it. `joined` starts
// the media, each `call.state` is announced (who joined or left, a camera
// turned off, a share started) and drawn, and refusals and help's
// progress are put in words.

import { $, params, threeway, status, log, roleName, who, on } from "./page.js";
import { send, connect, holdSeat, releaseSeat, rejoinRefused } from "./connection.js";
import { getLocalMedia, startMedia, endMedia, followShare, keepOwnFlags, shareRefused, stopLocalShare } from "./media.js";
import { renderAll, renderControls } from "./view.js";
import { forgetOffer } from "./console.js";

const leftReasons = {
  hangup: "You left the call.",
  rejoined: "You joined this call again from another page.",
  dropped: "The agent removed you from the call.",
  connection_failed: "Your media connection failed; you left the call.",
  no_media: "Your camera and microphone never connected to the call; you left it. Join again to retry.",
  call_ended: "The call has ended.",
  server_shutdown: "The server is shutting down; the call has ended.",
};

// refusals says in a sentence what each error code means, for a server
// that sent no message of its own (ours always do: the banner shows the
// server's sentence, which names who and what).
const refusals = {
  bad_message: "The page sent something the server could not read.",
  unknown_type: "The page asked for something this server does not know.",
  invalid_field: "Something in the request was not filled in right.",
  unauthorized: "This link is not valid here.",
  not_joined: "Join the call first.",
  already_joined: "This page is already in a call.",
  not_signed_in: "Sign in to the agent console first.",
  call_not_found: "There is no such call: check the link.",
  call_ended: "This call has ended.",
  role_taken: "Someone is already in this call with this link (is it open in another tab?).",
  call_full: "The call already has three parties.",
  forbidden: "Your role cannot do that.",
  help_in_progress: "A request for a third party is already under way.",
  no_such_request: "That help request is no longer open.",
  unknown_agent: "There is no such agent.",
  unknown_queue: "There is no such queue.",
  agent_unavailable: "That agent is not available right now.",
  sip_not_configured: "This server cannot dial phone numbers: it has no SIP gateway.",
  external_calls_not_configured: "This server cannot dial phone numbers.",
  number_not_allowed: "That number may not be dialled from here.",
  three_party_unsupported_in_sfu_mode: "This server runs in sfu mode, which carries two parties only.",
  video_not_enabled_for_all: "That needs everyone's camera on.",
  share_in_progress: "Someone else is sharing their screen.",
  share_unsupported_in_sfu_mode: "Screen sharing needs a server in mcu mode.",
  layout_unsupported_in_sfu_mode: "In sfu mode there is no composed picture to enlarge a tile in.",
  not_sharing: "You are not sharing your screen.",
  party_not_present: "That party is not in the call.",
  party_not_in_view: "Your own tile is hidden: show yourself first.",
  negotiation_failed: "The media connection could not be set up.",
  server_full: "The server is full: try again later.",
  cluster_unavailable: "The servers cannot reach their shared store: no help can be sought until it is back.",
  internal: "The server failed: try again.",
  rate_limited: "Too many clicks at once: that one was ignored.",
  message_too_big: "The page sent a message too large for the server.",
  not_reading: "The page fell behind reading the server's messages and was disconnected.",
  auth_timeout: "The page neither joined nor signed in in time and was disconnected.",
};

const helpFailures = {
  no_agent_available: "no agent is available",
  rejected: "the agent declined",
  timeout: "nobody answered in time",
  cancelled: "the request was cancelled",
  external_calls_not_configured: "external calls are not configured",
  sip_not_configured: "no SIP gateway is configured for external numbers",
};

on("joined", (msg) => {
  holdSeat(msg);
  threeway.role = msg.role;
  status("Joined call " + msg.call + " as " + roleName(msg.role) + ". Connecting media…");
  startMedia().catch((err) => status("Media setup failed: " + err.message, "error"));
});
on("call.state", (msg) => {
  const prev = threeway.state;
  threeway.state = msg;
  announce(prev, msg);
  followShare(msg);
  keepOwnFlags();
  renderAll();
});
on("left", (msg) => {
  releaseSeat();
  status(leftReasons[msg.reason] || "You left the call (" + msg.reason + ").", msg.reason === "hangup" ? "" : "warn");
  endMedia();
});
on("help.progress", (msg) => status(helpProgressText(msg)));
on("help.failed", (msg) => status("No third party: " + (helpFailures[msg.reason] || msg.reason) + ".", "warn"));
on("layout.reset", (msg) => status(msg.message || "Layout back to equal tiles (" + msg.reason.replace(/_/g, " ") + ").", "warn"));
on("share.stopped", (msg) => {
  if (threeway.role && msg.party === threeway.role) stopLocalShare();
  status("Screen share of the " + roleName(msg.party) + " ended (" + msg.reason.replace(/_/g, " ") + ").",
    msg.reason === "stopped" ? "" : "warn");
});
on("error", onError);

function onError(msg) {
  status(msg.message || refusals[msg.code] || "Refused (" + msg.code + ").", "error");
  rejoinRefused(msg);
  shareRefused();
  if (msg.request && ["no_such_request", "agent_unavailable"].includes(msg.code)) forgetOffer(msg.request);
  if (!threeway.role) $("joinButton").disabled = false;
  renderControls();
}

// announce tells, in the banner and the Events list, what changed between
// two states of the call: who joined or left, whose camera went on or off,
// who reconnects, who started sharing. A help request that ended with
// nothing else to say puts the banner back to the call.
function announce(prev, s) {
  if (!prev || prev.call !== s.call || !threeway.role) return;
  const before = new Map((prev.parties || []).map((p) => [p.role, p]));
  const now = new Map((s.parties || []).map((p) => [p.role, p]));
  const news = [];
  for (const [role, p] of now) {
    const b = before.get(role);
    if (!b) news.push(partyWords(p, s) + " joined the call.");
    else if (b.reconnecting !== p.reconnecting) news.push(partyWords(p, s) + (p.reconnecting ? " is reconnecting…" : " is back."));
    else if (b.video !== p.video && role !== s.you) news.push(partyWords(p, s) + " turned their camera " + (p.video ? "on." : "off."));
  }
  for (const [role, p] of before) {
    if (!now.has(role)) news.push(partyWords(p, s) + " left the call.");
  }
  const sharer = s.share ? s.share.party : null;
  if (sharer && sharer !== (prev.share ? prev.share.party : null)) {
    news.push((sharer === s.you ? "You are" : partyWords(now.get(sharer) || { role: sharer }, s) + " is") + " sharing the screen.");
  }
  const layout = (l) => (l && l.mode === "maximize" ? "the " + roleName(l.party) + " enlarged" : "equal tiles");
  if (layout(prev.layout) !== layout(s.layout)) news.push("Your picture: " + layout(s.layout) + ".");
  for (const n of news.slice(0, -1)) log(n);
  if (news.length) status(news[news.length - 1]); // the banner logs it too
  else if (prev.help && !s.help && helpBanner()) status("In the call.");
}

// helpBanner tells whether the banner still speaks of a help request.
function helpBanner() {
  return /third party|Asking |accepted and is joining|Looking for|Dialling|phone is ringing|phone answered/.test($("status").textContent);
}

function partyWords(p, s) {
  const role = "The " + roleName(p.role);
  return p.name ? role + " " + p.name : role;
}

function helpProgressText(msg) {
  if (msg.mode === "number") {
    switch (msg.state) {
      case "dialing": return "Dialling the number…";
      case "ringing": return "The phone is ringing…";
      case "accepted": return "The phone answered and is joining.";
    }
  }
  switch (msg.state) {
    case "searching": return "Looking for a third party" + (msg.mode === "queue" ? " in the queue" : "") + "…";
    case "ringing": return "Asking " + who(msg.agent) + "…";
    case "accepted": return who(msg.agent) + " accepted and is joining.";
  }
  return "Help: " + msg.state;
}

export async function join(event) {
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

export function me() {
  const s = threeway.state;
  if (!s || !threeway.role) return null;
  return (s.parties || []).find((p) => p.role === s.you) || null;
}

export function present(role) {
  const s = threeway.state;
  return !!(s && (s.parties || []).some((p) => p.role === role));
}
