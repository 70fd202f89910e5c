// threeway test page: drawing the page from the call's state: who is
// where, the parties list, and each control shown, labelled, and
// disabled with the reason as its tooltip where the rules would refuse it.

import { $, ROLES, params, threeway, roleName, who } from "./page.js";
import { rejoin } from "./connection.js";
import { pc, local, sharePending } from "./media.js";
import { me, present } from "./call.js";
import { renderConsole } from "./console.js";

export function renderAll() {
  renderPageMode();
  renderWho();
  renderParties();
  renderControls();
  renderConsole();
}

// renderPageMode shows the guide on a page opened without a link, and
// the join form only while a call link's party is not in its call.
function renderPageMode() {
  const callLink = params.has("token") || !!rejoin.seat;
  $("guide").hidden = callLink || params.has("console");
  $("join").hidden = !callLink || !!threeway.role;
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
    li.dataset.testid = "party-" + p.role;
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
    const target = h.mode === "queue" ? "queue " + h.queue : h.mode === "agent" ? "agent" : "phone number";
    $("help").textContent = "Help " + h.state + " (" + target + ")" + (h.agent ? ": " + who(h.agent) : "");
  }
}

// renderControls shows each control only where the call's state allows it
// and labels the toggles with what the server says is the case now.
export function renderControls() {
  const s = threeway.state;
  const self = me();
  const inCall = !!(pc && self);
  $("controls").hidden = !inCall;
  // The inset shows you only where the picture does not: with your own
  // tile hidden, and not over a share's small tiles.
  $("self").hidden = !inCall || s.self_view !== false || !!s.share;
  if (!inCall) return;
  const isAgent = s.you === "agent";
  const parties = (s.parties || []).length;

  const allow = (button, reason) => {
    button.disabled = !!reason;
    button.title = reason || "";
  };
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
  const videoRule = everyonesVideo(s);
  if (sharer === s.you) allow($("btn-share"), sharePending ? "Starting the share…" : "");
  else allow($("btn-share"), sharer ? "The " + roleName(sharer) + " is sharing the screen: one share at a time."
    : sharePending ? "Starting the share…" : videoRule && "Sharing the screen " + videoRule);

  // Equal is lit for what the picture shows: a share overrides the layout.
  const view = s.view || s.layout || { mode: "equal" };
  const layout = s.layout || { mode: "equal" };
  $("btn-equal").classList.toggle("active", view.mode === "equal");
  for (const role of ROLES) {
    const b = $("btn-max-" + role);
    b.hidden = !composed || !present(role);
    b.classList.toggle("active", !sharer && layout.mode === "maximize" && layout.party === role);
    allow(b, role === s.you && s.self_view === false ? "Your own tile is hidden: show yourself first."
      : videoRule && "Enlarging a tile " + videoRule);
  }
  $("btn-equal").hidden = !composed || parties < 2;

  $("btn-three-party").hidden = !isAgent || parties >= 3 || !!s.help;
  allow($("btn-three-party"), s.mode === "sfu" ? "This server runs in sfu mode, which carries two parties only." : "");
  $("btn-cancel-help").hidden = !isAgent || !s.help;
  $("btn-drop-third").hidden = !isAgent || !present("third");
  if ($("btn-three-party").hidden) $("three-party-form").hidden = true;
}

// everyonesVideo is why the rule "in a three-party call, maximize and
// share need everyone's camera" refuses now, or "": it finishes a
// sentence ("Sharing the screen needs…").
function everyonesVideo(s) {
  const parties = s.parties || [];
  const off = parties.filter((p) => !p.video);
  if (parties.length < 3 || !off.length) return "";
  const names = off.map((p) => (p.role === s.you ? "you" : "the " + roleName(p.role)));
  const whose = names.length === 1 ? names[0] + (names[0] === "you" ? " have" : " has")
    : names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " have";
  return "needs everyone's camera on, and " + whose + " it off.";
}
