// threeway test page: a party of a call and an agent console, over one
// WebSocket at /ws (signaling/PROTOCOL.md). What the page shows comes from
// the server's messages, above all `call.state`; a click only sends a
// command, and the page changes when the server says so.
//
//   ?call=ID&role=ROLE&token=T&name=N   fill the join form (press Join)
//   ?console=AGENT_TOKEN                open the agent console
//
// Both may be given, as the agent's own link does: the agent's call page
// is also its console. Without either the page says how to get a link.
//
// For tests, window.threeway holds the last call.state (state), every
// server message (messages), the console's presence and directory, the
// open help offers and the connection's stats; tests only read it.
//
// The modules: page (shared state, banner, Events), connection (the
// socket, reconnecting), call (the call's messages in words), media (the
// PeerConnection, share, stats), view (drawing the state), console (the
// agent console and the Three-Party dialog).

import { $, ROLES, params } from "./page.js";
import { send, restoreSeat } from "./connection.js";
import { join } from "./call.js";
import { toggleVideo, toggleAudio, toggleSelfView, toggleShare, setLayout } from "./media.js";
import { renderAll } from "./view.js";
import { openHelpForm, cancelHelp, requestHelp, pickContact, showHelpMode, togglePresence, renderHelpFields, renderOffers, signIn } from "./console.js";

for (const key of ["call", "role", "name", "token"]) {
  if (params.has(key)) $(key).value = params.get(key);
}

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

restoreSeat();
renderHelpFields();
renderAll();
renderOffers();
if (params.has("console")) signIn();
