// threeway test page: the agent console. Signed in with the console
// link, it shows the agent's presence and the help offers made to it, and
// fills the Three-Party dialog from the directory: the queues with how
// many agents are idle, the agents with their presence, and, once the
// server can dial out, contacts and a number field hinted with the dial
// plan.

import { $, params, threeway, status, roleName, who, on } from "./page.js";
import { ws, send, connect } from "./connection.js";
import { getLocalMedia } from "./media.js";

on("presence", (msg) => {
  if (!threeway.presence) status("Signed in as agent " + msg.agent + ".");
  threeway.presence = msg;
  renderConsole();
});
on("directory", (msg) => {
  threeway.directory = { queues: msg.queues || [], agents: msg.agents || [], contacts: msg.contacts || [],
    dialOut: msg.dial_out || { enabled: false, hint: "" } };
  renderHelpFields();
});
on("help.offer", (msg) => {
  threeway.offers[msg.request] = Object.assign({ deadline: Date.now() + (msg.expires_in_ms || 0) }, msg);
  status("Help requested by " + who(msg.from) + ".");
  renderOffers();
});
on("help.withdrawn", (msg) => {
  if (threeway.offers[msg.request]) {
    delete threeway.offers[msg.request];
    status("Help request withdrawn (" + msg.reason.replace(/_/g, " ") + ").", "warn");
    renderOffers();
  }
});

// forgetOffer drops an offer the server says is no longer open.
export function forgetOffer(request) {
  if (threeway.offers[request]) {
    delete threeway.offers[request];
    renderOffers();
  }
}

export function openHelpForm() {
  renderHelpFields();
  $("three-party-form").hidden = false;
  // Who is idle changes by the minute: ask for the directory as it is now.
  if (threeway.presence) send({ type: "directory.get" });
}

// renderHelpFields offers the directory's queues and agents as lists when
// the server sent one, otherwise free text fields for their ids.
export function renderHelpFields() {
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
    el.dataset.testid = id;
    slot.append(el);
  };
  fill("help-queue-field", "help-queue", dir ? dir.queues : [],
    (q) => (q.name || q.id) + (q.agents !== undefined ? " (" + q.idle + " of " + q.agents + " idle)" : ""));
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

export function pickContact() {
  if ($("help-contact").value) $("help-number").value = $("help-contact").value;
}

export function showHelpMode() {
  const mode = $("help-mode").value;
  $("help-queue-field").hidden = mode !== "queue";
  $("help-agent-field").hidden = mode !== "agent";
  $("help-number-field").hidden = mode !== "number";
}

export function requestHelp(event) {
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

export function cancelHelp() {
  const s = threeway.state;
  if (s && s.help) send({ type: "help.cancel", request: s.help.request });
}

export function signIn() {
  $("console").hidden = false;
  status("Signing in…");
  connect()
    .then(() => send({ type: "agent.signin", token: params.get("console") }))
    .catch((err) => status("Console: " + err.message, "error"));
}

export function renderConsole() {
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

export function togglePresence() {
  const p = threeway.presence;
  if (p && p.state !== "busy") send({ type: "presence.set", state: p.state === "away" ? "idle" : "away" });
}

let offerTimer = null;

export function renderOffers() {
  const list = $("offers");
  list.textContent = "";
  const now = Date.now();
  const open = Object.values(threeway.offers);
  for (const o of open) {
    const li = document.createElement("li");
    li.id = "offer-" + o.request;
    li.dataset.testid = "offer";
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
    const accept = offerButton(o, "accept", "Accept", acceptOffer);
    accept.classList.add("primary");
    accept.disabled = left === 0 || !!threeway.role;
    const reject = offerButton(o, "reject", "Reject", rejectOffer);
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

// offerButton is an offer's Accept or Reject button (its class and test
// id are what; its id names the request too).
function offerButton(offer, what, text, answer) {
  const b = document.createElement("button");
  b.id = what + "-" + offer.request;
  b.dataset.testid = what;
  b.className = what;
  b.type = "button";
  b.textContent = text;
  b.onclick = () => answer(offer.request);
  return b;
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
    status("You declined the help request.");
  }
}
